// Manager console · approvals: the location's requests awaiting a decision, oldest first, each
// with the deadline at which it declines itself; approve (a paid space's becomes a hold for the
// member to pay) or decline with a note for the member. Live from the location stream.

import { allPages, h, write } from "./core.js";
import { fmt, t } from "./i18n.js";

let view = { panel: null, ctx: null, seq: 0 };

export async function render(panel, ctx) {
  view = { ...view, panel, ctx };
  const seq = ++view.seq;
  const id = ctx.location.id;
  // The approvals list gives the order; the bookings report adds who asked and for which space.
  const [pending, named] = await Promise.all([
    allPages(`/manage/locations/${id}/approvals`),
    allPages("/manage/bookings", { location_id: String(id), status: "pending_approval" }, 1000),
  ]);
  if (seq !== view.seq) return; // a newer load (a live event) is on its way
  const who = new Map(named.map((b) => [b.id, b]));
  panel.replaceChildren(pending.length ? table(pending, who) : h("p", { id: "approvals-none", text: t("ap.none") }));
}

function table(rows, who) {
  const zone = view.ctx.zone;
  const head = ["#", t("mb.space"), t("ap.member"), t("mb.when"), t("ap.asked"), t("ap.deadline"), t("bookings.price"), t("mb.actions")];
  return h("div", { class: "table-wrap", id: "approvals", tabindex: "0" }, h("table", {},
    h("caption", { class: "visually-hidden", text: t("manage.tab.approvals") }),
    h("thead", {}, h("tr", {}, ...head.map((x) => h("th", { scope: "col", text: x })))),
    h("tbody", {}, ...rows.map((b) => {
      const named = who.get(b.id);
      const label = (key) => `${t(key)} #${b.id}`;
      return h("tr", { "data-booking": b.id },
        h("td", { text: String(b.id) }),
        h("td", { text: named?.space_name ?? `#${b.space_id}` }),
        h("td", { text: named?.user_email ?? `#${b.user_id}` }),
        h("td", { text: fmt.range(b.start, b.end, zone) }),
        h("td", { text: fmt.dateTime(b.created_at, zone) }),
        h("td", { class: "deadline", text: fmt.dateTime(b.expires_at, zone) }),
        h("td", { class: "num", text: b.price_cents ? fmt.money(b.price_cents, b.currency) : t("space.free_of_charge") }),
        h("td", {}, h("div", { class: "actions" },
          h("button", { type: "button", "aria-label": label("ap.approve"), text: t("ap.approve"), onclick: () => approve(b) }),
          h("button", { type: "button", class: "secondary", "aria-label": label("ap.decline"), text: t("ap.decline"), onclick: () => decline(b) }))));
    }))));
}

async function approve(b) {
  try {
    const row = await write(`/manage/spaces/${b.space_id}/bookings/${b.id}/approve`, {});
    view.ctx.say(t(row.status === "held" ? "ap.approved_to_pay" : "ap.approved", { id: b.id }), "success");
    await render(view.panel, view.ctx);
  } catch (err) { view.ctx.say(view.ctx.errorText(err), "error"); }
}

function decline(b) {
  const note = h("textarea", { id: "decline-note", rows: 3, maxlength: 500 });
  const error = h("p", { class: "message", role: "alert", "data-kind": "error" });
  const el = h("dialog", { "aria-labelledby": "decline-title" });
  const form = h("form", { method: "dialog" },
    h("h2", { id: "decline-title", text: `${t("ap.decline")} #${b.id}` }),
    h("p", { text: fmt.range(b.start, b.end, view.ctx.zone) }),
    h("p", { class: "field" }, h("label", { for: "decline-note", text: t("ap.note") }), note),
    error,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "danger", text: t("ap.decline") }),
      h("button", { type: "button", class: "secondary", onclick: () => el.close(), text: t("common.cancel") })));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const text = note.value.trim();
      await write(`/manage/spaces/${b.space_id}/bookings/${b.id}/decline`, text ? { note: text } : {});
      el.close();
      view.ctx.say(t("ap.declined", { id: b.id }), "success");
      await render(view.panel, view.ctx);
    } catch (err) { error.textContent = view.ctx.errorText(err); }
  });
  el.append(form);
  el.addEventListener("close", () => el.remove());
  document.body.append(el);
  el.showModal();
}

/** A new request, or one decided (here, by another manager, by the timer): read the list again. */
export function apply(envelope) {
  if (!view.panel || !envelope.type?.startsWith("booking.")) return;
  const d = envelope.data || {};
  const shown = view.panel.querySelector(`tr[data-booking="${d.booking_id}"]`);
  if (d.status === "pending_approval" || shown) render(view.panel, view.ctx).catch((err) => view.ctx.say(view.ctx.errorText(err), "error"));
}
