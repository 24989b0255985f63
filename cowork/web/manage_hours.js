// Manager console · opening hours (local time, per weekday) and closures (whole local days).
// Saving publishes `location.updated`: open timelines and maps follow it live.

import { allPages, api, h } from "./core.js";
import { fmt, t } from "./i18n.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
let view = { panel: null, ctx: null };

export async function render(panel, ctx) {
  view = { panel, ctx };
  const hoursForm = h("form", { id: "hours-form" }, h("h2", { text: t("hours.weekly") }),
    h("div", { class: "hours-grid" }, ...DAYS.map((day) => dayRow(day, ctx.location.opening_hours[day] ?? []))),
    h("div", { class: "actions" }, h("button", { type: "submit", text: t("hours.save") })));
  hoursForm.addEventListener("submit", saveHours);
  const closureForm = h("form", { id: "closure-form", class: "filters" },
    field("closure-start", "hours.first_day", h("input", { id: "closure-start", name: "start_date", type: "date", required: true })),
    field("closure-end", "hours.last_day", h("input", { id: "closure-end", name: "end_date", type: "date", required: true })),
    field("closure-reason", "hours.reason", h("input", { id: "closure-reason", name: "reason", required: true, maxlength: 200 })),
    h("button", { type: "submit", text: t("hours.add_closure") }));
  closureForm.addEventListener("submit", addClosure);
  panel.replaceChildren(hoursForm, h("h2", { text: t("hours.closures") }), closureForm, h("div", { id: "closure-list" }));
  await loadClosures();
}

function field(id, key, input) {
  return h("p", { class: "field" }, h("label", { for: id, text: t(key) }), input);
}

function dayRow(day, intervals) {
  const [open, close] = intervals[0] ?? ["09:00", "18:00"];
  const closed = h("input", { type: "checkbox", id: `closed-${day}`, name: `closed-${day}`, checked: !intervals.length });
  const time = (id, value) => h("input", { id, name: id, type: "time", value: value === "24:00" ? "23:59" : value });
  return h("div", { class: "day-row", role: "group", "aria-labelledby": `day-${day}` },
    h("span", { class: "day label", id: `day-${day}`, text: t(`day.${day}`) }),
    field(`open-${day}`, "hours.open", time(`open-${day}`, open)),
    field(`close-${day}`, "hours.close", time(`close-${day}`, close)),
    h("label", { class: "check", for: `closed-${day}` }, closed, t("hours.closed")));
}

async function saveHours(event) {
  event.preventDefault();
  const form = event.target;
  const body = {};
  for (const day of DAYS) {
    if (form.querySelector(`#closed-${day}`).checked) { body[day] = []; continue; }
    const close = form.querySelector(`#close-${day}`).value;
    body[day] = [[form.querySelector(`#open-${day}`).value, close === "23:59" ? "24:00" : close]];
  }
  try {
    await api(`/manage/locations/${view.ctx.location.id}/hours`, { method: "PUT", body });
    await view.ctx.reloadLocation();
    view.ctx.say(t("common.saved"), "success");
  } catch (err) { view.ctx.say(view.ctx.errorText(err), "error"); }
}

async function loadClosures() {
  const items = await allPages(`/manage/locations/${view.ctx.location.id}/closures`);
  const list = view.panel.querySelector("#closure-list");
  list.replaceChildren(items.length
    ? h("ul", { class: "notifications" }, ...items.map((c) => h("li", { "data-closure": c.id },
      h("span", { text: `${fmt.date(`${c.start_date}T12:00:00Z`, "UTC")} – ${fmt.date(`${c.end_date}T12:00:00Z`, "UTC")} · ${c.reason}` }),
      h("button", { type: "button", class: "secondary", "aria-label": `${t("hours.remove")}: ${c.reason}`, text: t("hours.remove"), onclick: () => removeClosure(c.id) }))))
    : h("p", { class: "muted", text: t("hours.no_closures") }));
}

async function addClosure(event) {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(event.target));
  try {
    await api(`/manage/locations/${view.ctx.location.id}/closures`, { method: "POST", body: data });
    event.target.reset();
    view.ctx.say(t("common.saved"), "success");
    await loadClosures();
  } catch (err) { view.ctx.say(view.ctx.errorText(err), "error"); }
}

async function removeClosure(id) {
  try {
    await api(`/manage/locations/${view.ctx.location.id}/closures/${id}`, { method: "DELETE" });
    await loadClosures();
  } catch (err) { view.ctx.say(view.ctx.errorText(err), "error"); }
}
