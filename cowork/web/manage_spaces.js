// Manager console · spaces: the floor plan to drag spaces on (or move with the arrow keys), an
// editor for each space (name, type, seats, prices, amenities, size, turnaround buffers, whether
// requests need approval, active), and a new-space form.

import { allPages, api, h } from "./core.js";
import { FloorMap } from "./floor.js";
import { t } from "./i18n.js";

const TYPES = ["desk", "meeting_room", "private_office", "phone_booth", "event_space"];
let view = { panel: null, ctx: null, map: null, spaces: [], amenities: [] };

export async function render(panel, ctx) {
  view = { ...view, panel, ctx };
  const id = ctx.location.id;
  const [floor, spaces, amenities] = await Promise.all([
    api(`/locations/${id}/floor`), allPages(`/manage/locations/${id}/spaces`), allPages("/manage/amenities"),
  ]);
  view.spaces = spaces;
  view.amenities = amenities;
  const plan = h("div", { id: "edit-floors", class: "floors editable" });
  const editor = h("div", { id: "space-editor", class: "details" });
  panel.replaceChildren(
    h("p", { class: "hint", text: t("sp.drag_hint") }),
    h("div", { class: "layout" }, plan, editor));
  view.map = new FloorMap(plan, {
    editable: true, zone: () => ctx.zone,
    onSelect: (space) => { view.map.select(space.id); edit(space.id); },
    onMove: (space, x, y) => save(space.id, { x, y }, t("sp.moved", { name: space.name })),
  });
  view.map.show(floor, Date.parse(floor.at));
  newSpaceForm();
}

function spaceFields(prefix, s = {}) {
  const field = (name, key, input) => h("p", { class: "field" }, h("label", { for: `${prefix}-${name}`, text: t(key) }), input);
  // Each input's id is `${prefix}-${its name}`, which its label points at.
  const number = (name, value, min = 0) => h("input", { id: `${prefix}-${name}`, name, type: "number", min, value: value ?? "", inputmode: "numeric" });
  return [
    field("name", "sp.name", h("input", { id: `${prefix}-name`, name: "name", value: s.name ?? "", required: true })),
    field("type", "sp.type", h("select", { id: `${prefix}-type`, name: "type" },
      ...TYPES.map((v) => h("option", { value: v, selected: v === s.type, text: t(`type.${v}`) })))),
    field("capacity", "sp.capacity", number("capacity", s.capacity ?? 1, 1)),
    field("hourly_price_cents", "sp.hourly", number("hourly_price_cents", s.hourly_price_cents ?? 0)),
    field("daily_price_cents", "sp.daily", number("daily_price_cents", s.daily_price_cents)),
    field("floor", "sp.floor", number("floor", s.floor ?? 0)),
    field("width", "sp.width", number("width", s.width ?? 10, 1)),
    field("height", "sp.height", number("height", s.height ?? 8, 1)),
    field("buffer_before_minutes", "sp.buffer_before", number("buffer_before_minutes", s.buffer_before_minutes ?? 0)),
    field("buffer_after_minutes", "sp.buffer_after", number("buffer_after_minutes", s.buffer_after_minutes ?? 0)),
    h("label", { class: "check" },
      h("input", { type: "checkbox", id: `${prefix}-requires_approval`, name: "requires_approval", checked: Boolean(s.requires_approval) }),
      t("sp.requires_approval")),
    h("fieldset", { class: "amenities" }, h("legend", { text: t("sp.amenities") }),
      h("div", { class: "chips" }, ...view.amenities.map((a) => h("label", { class: "chip" },
        h("input", { type: "checkbox", name: "amenities", value: a.code, checked: (s.amenities ?? []).includes(a.code) }), ` ${a.name}`)))),
  ];
}

function values(form) {
  const data = new FormData(form);
  const out = {
    name: data.get("name"), type: data.get("type"), amenities: data.getAll("amenities"),
    requires_approval: data.get("requires_approval") === "on",
  };
  for (const key of ["capacity", "hourly_price_cents", "floor", "width", "height", "buffer_before_minutes", "buffer_after_minutes"]) {
    out[key] = Number(data.get(key));
  }
  out.daily_price_cents = data.get("daily_price_cents") ? Number(data.get("daily_price_cents")) : null;
  return out;
}

function edit(id) {
  const s = view.spaces.find((x) => x.id === id);
  if (!s) return;
  const form = h("form", { id: "space-form" },
    h("h2", { id: "space-form-title", tabindex: "-1", text: t("sp.edit", { name: s.name }) }),
    ...spaceFields("sp", s),
    h("div", { class: "actions" },
      h("button", { type: "submit", text: t("common.save") }),
      h("button", { type: "button", class: "danger", text: t("sp.deactivate"), onclick: () => save(id, { active: false }, t("common.saved")) }),
      h("button", { type: "button", class: "secondary", text: t("common.close"), onclick: newSpaceForm })));
  form.addEventListener("submit", (e) => { e.preventDefault(); save(id, values(form), t("common.saved")); });
  view.panel.querySelector("#space-editor").replaceChildren(form);
  form.querySelector("h2").focus();
}

function newSpaceForm() {
  const form = h("form", { id: "new-space" }, h("h2", { text: t("sp.new") }), ...spaceFields("ns"),
    h("div", { class: "actions" }, h("button", { type: "submit", text: t("sp.create") })));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const item = await api(`/manage/locations/${view.ctx.location.id}/spaces`, { method: "POST", body: values(form) });
      view.spaces.push(item);
      view.map.applySpace(item);
      view.ctx.say(t("common.saved"), "success");
      form.reset();
    } catch (err) { view.ctx.say(view.ctx.errorText(err), "error"); }
  });
  view.panel.querySelector("#space-editor").replaceChildren(form);
}

async function save(id, patch, done) {
  try {
    const item = await api(`/manage/spaces/${id}`, { method: "PATCH", body: patch });
    view.spaces = view.spaces.map((s) => (s.id === id ? item : s));
    view.map.applySpace(item);
    view.ctx.say(done, "success");
  } catch (err) {
    view.ctx.say(view.ctx.errorText(err), "error");
    await render(view.panel, view.ctx); // put the plan back as the server has it
  }
}

/** Another manager's edit, or a booking: applied to this plan too. */
export function apply(envelope) {
  if (!view.map?.snapshot) return;
  if (envelope.type === "space.updated") {
    view.spaces = view.spaces.some((s) => s.id === envelope.data.id)
      ? view.spaces.map((s) => (s.id === envelope.data.id ? envelope.data : s)) : [...view.spaces, envelope.data];
  }
  view.map.apply(envelope);
}
