// Manager console · bookings: filter, export CSV, cancel as staff (full refund), refund part of
// a payment, mark a no-show. Rows change live from the location stream's payloads.

import { allPages, h, session, write } from "./core.js";
import { fmt, t } from "./i18n.js";

const STATUSES = ["pending_approval", "held", "confirmed", "checked_in", "completed", "cancelled", "expired", "no_show", "declined"];
let view = { panel: null, ctx: null, rows: [], payments: new Map() };

function filters() {
  const form = view.panel.querySelector("#mb-filters");
  const data = new FormData(form);
  const params = { location_id: String(view.ctx.location.id) };
  for (const key of ["status", "member", "from", "to"]) if (data.get(key)) params[key] = data.get(key);
  return params;
}

export async function render(panel, ctx) {
  view = { ...view, panel, ctx };
  if (!panel.querySelector("#mb-filters")) {
    const field = (id, key, input) => h("p", { class: "field" }, h("label", { for: id, text: t(key) }), input);
    const form = h("form", { id: "mb-filters", class: "filters" },
      field("mb-status", "mb.status", h("select", { id: "mb-status", name: "status" },
        h("option", { value: "", text: t("common.all") }), ...STATUSES.map((s) => h("option", { value: s, text: t(`state.${s}`) })))),
      field("mb-member", "mb.member", h("input", { id: "mb-member", name: "member", type: "search" })),
      field("mb-from", "mb.from", h("input", { id: "mb-from", name: "from", type: "date" })),
      field("mb-to", "mb.to", h("input", { id: "mb-to", name: "to", type: "date" })),
      h("button", { type: "submit", text: t("common.filter") }),
      h("button", { id: "mb-export", type: "button", class: "secondary", onclick: exportCsv, text: t("mb.export") }));
    form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
    panel.replaceChildren(form, h("div", { class: "table-wrap", id: "mb-table", tabindex: "0" }));
  }
  await load();
}

async function load() {
  const params = filters();
  const [rows, payments] = await Promise.all([
    allPages("/manage/bookings", params, 500),
    allPages("/payments", { scope: "managed" }, 2000),
  ]);
  view.rows = rows;
  view.payments = new Map(payments.map((p) => [p.booking_id, p]));
  draw();
}

function draw() {
  const zone = view.ctx.zone;
  const table = view.panel.querySelector("#mb-table");
  if (!view.rows.length) { table.replaceChildren(h("p", { text: t("mb.none") })); return; }
  const head = ["#", t("mb.space"), t("mb.member"), t("mb.when"), t("mb.status"), t("bookings.price"), t("bookings.refunded"), t("mb.actions")];
  table.replaceChildren(h("table", {},
    h("thead", {}, h("tr", {}, ...head.map((x) => h("th", { scope: "col", text: x })))),
    h("tbody", {}, ...view.rows.map((b) => {
      const pay = view.payments.get(b.id);
      return h("tr", { "data-booking": b.id, "data-status": b.status },
        h("td", { text: String(b.id) }), h("td", { text: b.space_name }), h("td", { text: b.user_email }),
        h("td", { text: fmt.range(b.start, b.end, zone) }),
        h("td", {}, h("span", { class: "state", text: t(`state.${b.status}`) })),
        h("td", { class: "num", text: fmt.money(b.price_cents, b.currency) }),
        h("td", { class: "num", text: pay?.refunded_cents ? fmt.money(pay.refunded_cents, pay.currency) : "—" }),
        h("td", {}, h("div", { class: "actions" }, ...actions(b, pay))));
    }))));
}

function actions(b, pay) {
  const out = [];
  const label = (key) => `${t(key)} #${b.id}`;
  if (["held", "confirmed"].includes(b.status)) {
    out.push(h("button", { type: "button", class: "secondary", "aria-label": label("mb.cancel"), text: t("mb.cancel"), onclick: () => staffCancel(b) }));
  }
  if (b.status === "confirmed" && Date.parse(b.start) < Date.now()) {
    out.push(h("button", { type: "button", class: "secondary", "aria-label": label("mb.no_show"), text: t("mb.no_show"), onclick: () => noShow(b) }));
  }
  if (pay && ["succeeded", "partially_refunded"].includes(pay.status)) {
    out.push(h("button", { type: "button", class: "secondary", "aria-label": label("mb.refund"), text: t("mb.refund"), onclick: () => refund(b, pay) }));
  }
  return out;
}

async function act(promise) {
  try { await promise; await load(); } catch (err) { view.ctx.say(view.ctx.errorText(err), "error"); }
}

const staffCancel = (b) => act(write(`/spaces/${b.space_id}/bookings/${b.id}/cancel`, { reason: "cancelled_by_staff" }));
const noShow = (b) => act(write(`/spaces/${b.space_id}/bookings/${b.id}/no-show`, undefined));

function refund(b, pay) {
  const left = pay.amount_cents - pay.refunded_cents;
  const input = h("input", { id: "refund-amount", type: "number", min: 1, max: left, value: left, required: true });
  const error = h("p", { class: "message", role: "alert", "data-kind": "error" });
  const el = h("dialog", { "aria-labelledby": "refund-title" });
  const form = h("form", { method: "dialog" },
    h("h2", { id: "refund-title", text: `${t("mb.refund")} #${b.id}` }),
    h("p", { class: "field" }, h("label", { for: "refund-amount", text: `${t("mb.refund_amount")} (${pay.currency}, cents)` }), input),
    error,
    h("div", { class: "actions" }, h("button", { type: "submit", text: t("mb.refund") }),
      h("button", { type: "button", class: "secondary", onclick: () => el.close(), text: t("common.cancel") })));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await write(`/manage/payments/${pay.id}/refunds`, { amount_cents: Number(input.value), reason: "staff refund" });
      el.close();
      view.ctx.say(t("mb.refund_done"), "success");
      await load();
    } catch (err) { error.textContent = view.ctx.errorText(err); }
  });
  el.append(form);
  el.addEventListener("close", () => el.remove());
  document.body.append(el);
  el.showModal();
}

/** CSV comes with the bearer token, so it is fetched and handed to the browser as a file. */
async function exportCsv() {
  const query = new URLSearchParams({ ...filters(), format: "csv" });
  const response = await fetch(`/api/v1/manage/bookings?${query}`, {
    headers: { Authorization: `Bearer ${session.access}`, Accept: "text/csv" },
  });
  if (!response.ok) { view.ctx.say(`CSV: HTTP ${response.status}`, "error"); return; }
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: `bookings-${view.ctx.location.id}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A booking event: its row takes the payload's status and times. */
export function apply(envelope) {
  if (!envelope.type?.startsWith("booking.") || !view.panel) return;
  const d = envelope.data;
  const row = view.rows.find((r) => r.id === d.booking_id);
  if (!row) { if (envelope.type === "booking.held") load(); return; }
  Object.assign(row, { status: d.status, start: d.start, end: d.end });
  draw();
}

