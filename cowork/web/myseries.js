// My bookings · a recurring series as one card: its rule, each occurrence with its state and
// price, pay a held one or all the held ones at once, and cancel one, this and the following,
// or all, with the refund each occurrence gets by the location's policy shown before
// confirming (docs/scheduling.md).

import { api, clock, h, locationOf, spaceOf, write } from "./core.js";
import { fmt, t } from "./i18n.js";
import { ruleText } from "./series.js";

const CANCELLABLE = ["held", "confirmed", "pending_approval"];
const SCOPES = ["one", "following", "all"];

/** The card of one series; `occurrences` are its bookings as the page knows them now. */
export async function seriesCard(meta, occurrences, page) {
  const first = occurrences[0];
  const [space, loc] = await Promise.all([spaceOf(first.space_id), locationOf(first.location_id)]);
  const zone = loc.timezone;
  const sorted = [...occurrences].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const open = sorted.filter((b) => cancellable(b));
  const rule = meta ? `${ruleText(meta.rrule)} · ${fmt.time(first.start, zone, { note: false })}–${fmt.time(first.end, zone)}` : "";
  const seriesId = first.series_id;
  const payAll = payAllButton(seriesId, sorted, page, space, zone);
  return h("li", { class: "booking series", "data-series": seriesId },
    h("h3", { text: `${space.name} · ${t("series.title")}` }),
    h("p", { class: "muted", text: [loc.name, rule].filter(Boolean).join(" · ") }),
    h("ol", { class: "occurrences" }, ...sorted.map((b) => occurrence(b, zone, open, page, space))),
    payAll || open.length ? h("div", { class: "actions" }, payAll, open.length ? h("button", {
      type: "button", class: "secondary", text: t("series.cancel_all"),
      onclick: () => cancelDialog(seriesId, open[0], "all", open, zone, page),
    }) : null) : null);
}

function cancellable(b) {
  return CANCELLABLE.includes(b.status) && Date.parse(b.start) > clock.now();
}

/** Part of a payment of its series (one intent for several): never paid alone (the API says 409). */
const inSeriesPayment = (b, page) => Boolean(page.payments.get(b.id)?.series_id);
const openSeriesRow = (b, page) => inSeriesPayment(b, page) && page.payments.get(b.id).status === "requires_payment";

/** What the series endpoint answers: its open payment as made (an occurrence cancelled since
 * stays in it, refunded when the money arrives), else the held occurrences with no payment. */
function dueWithSeries(sorted, page) {
  const covered = sorted.filter((b) => openSeriesRow(b, page));
  if (covered.some((b) => b.status === "held")) return { due: covered, open: true };
  return { due: sorted.filter((b) => b.status === "held" && !page.payments.has(b.id)), open: false };
}

/** Offered for two held or more, or while a series payment waits (the only way to pay those). */
function payAllButton(seriesId, sorted, page, space, zone) {
  const { due, open } = dueWithSeries(sorted, page);
  if (due.length < 2 && !open) return null;
  const cents = due.reduce((sum, b) => sum + (open ? page.payments.get(b.id).amount_cents : b.price_cents), 0);
  const total = fmt.money(cents, due[0].currency);
  return h("button", {
    type: "button", class: "pay-all", text: t("series.pay_all", { total }),
    onclick: () => page.onPaySeries(seriesId, due, space, zone),
  });
}

function occurrence(b, zone, open, page, space) {
  const pay = page.payments.get(b.id);
  const when = fmt.range(b.start, b.end, zone);
  const facts = [h("span", { class: "state", text: t(`state.${b.status}`) })];
  if (b.price_cents) facts.push(` ${fmt.money(b.price_cents, b.currency)}`);
  if (pay?.refunded_cents) facts.push(` · ${t("bookings.refunded")} ${fmt.money(pay.refunded_cents, pay.currency)}`);
  if (b.status === "held" && b.expires_at) facts.push(` · ${t("bookings.expires", { time: fmt.time(b.expires_at, zone) })}`);
  const actions = [];
  if (b.status === "held" && !inSeriesPayment(b, page)) {
    actions.push(h("button", { type: "button", "aria-label": `${t("bookings.pay")}: ${when}`, text: t("bookings.pay"), onclick: () => page.onPay(b, space, zone) }));
  }
  if (cancellable(b)) {
    actions.push(h("button", {
      type: "button", class: "secondary", "aria-label": `${t("series.cancel")}: ${when}`, text: t("series.cancel"),
      onclick: () => cancelDialog(b.series_id, b, "one", open, zone, page),
    }));
  }
  return h("li", { "data-booking": b.id, "data-status": b.status }, h("div", { class: "occurrence" },
    h("span", { class: "when", text: when }), h("span", { class: "terms" }, ...facts),
    actions.length ? h("span", { class: "actions inline" }, ...actions) : null));
}

/** Which occurrences a scope takes from `anchor`: the anchor alone, it and the later ones, all. */
function taken(scope, anchor, open) {
  if (scope === "one") return [anchor];
  if (scope === "following") return open.filter((b) => Date.parse(b.start) >= Date.parse(anchor.start));
  return open;
}

async function cancelDialog(seriesId, anchor, scope, open, zone, page) {
  let previews;
  try {
    previews = new Map(await Promise.all(open.map(async (b) => [b.id, await api(`/bookings/${b.id}/cancellation`)])));
  } catch (err) { page.say(page.errorText(err), "error"); return; }
  let chosen = scope;
  const list = h("ul", { id: "series-refunds", class: "occurrences" });
  const total = h("p", { id: "series-refund-total", class: "quote" });
  const draw = () => {
    const rows = taken(chosen, anchor, open);
    list.replaceChildren(...rows.map((b) => {
      const p = previews.get(b.id);
      const refund = p.paid_cents ? t("series.refund_line", { refund: fmt.money(p.refund_cents, p.currency), percent: p.refund_percent }) : t("series.nothing_paid");
      return h("li", { "data-booking": b.id }, `${fmt.range(b.start, b.end, zone)} · ${refund}`);
    }));
    const cents = rows.reduce((sum, b) => sum + previews.get(b.id).refund_cents, 0);
    total.textContent = t("series.refund_total", { n: rows.length, refund: fmt.money(cents, anchor.currency) });
  };
  const choices = (scope === "all" ? ["all"] : SCOPES).map((value) => h("label", { class: "check" },
    h("input", { type: "radio", name: "series-scope", value, checked: value === chosen, onchange: () => { chosen = value; draw(); } }),
    t(`series.scope_${value}`)));
  draw();
  page.dialog(t("series.cancel_title"), [
    h("p", { text: fmt.range(anchor.start, anchor.end, zone) }),
    h("fieldset", { class: "repeat-end" }, h("legend", { text: t("series.which") }), ...choices),
    list, total,
  ], t("series.cancel_confirm"), async () => {
    const body = chosen === "all" ? { scope: "all" } : { scope: chosen, booking_id: anchor.id };
    const answer = await write(`/spaces/${anchor.space_id}/series/${seriesId}/cancel`, body);
    const cents = answer.cancelled.reduce((sum, c) => sum + c.refund_cents, 0);
    page.say(t("series.cancelled", { n: answer.cancelled.length, refund: fmt.money(cents, anchor.currency) }), "success");
    await page.done(answer);
  });
}
