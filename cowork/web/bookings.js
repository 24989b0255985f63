// `/bookings` My bookings: upcoming and past with state, price, paid and refunded amounts;
// pay a hold, cancel (the refund shown before confirming), reschedule, check in; requests
// awaiting approval; a series as one card; my waitlist and its offers; my calendar feed;
// notifications with a live unread badge. The member's stream updates cards from the payload.

import {
  $, allPages, api, clock, config, h, loadedLocation, locationOf, ProblemError, session, spaceOf, write,
} from "./core.js";
import { bookingToPay, seriesToPay, startCheckout } from "./checkout.js";
import { showFeed } from "./feed.js";
import { seriesCard } from "./myseries.js";
import { showWaitlist, waitlist } from "./waitlist.js";
import { renderPush, startPush } from "./push.js";
import { fmt, hhmm, localDate, localInstant, localMinutes, t, translate } from "./i18n.js";
import { adjustUnread, openAuth, resetUnread, startShell } from "./shell.js";

const LIVE = ["held", "confirmed", "checked_in", "pending_approval"];
// Events after which the page reads everything again (they are about several bookings).
const RELOAD = ["series.created", "series.cancelled"];
const state = { bookings: new Map(), payments: new Map(), series: new Map(), pins: new Map(), cfg: null, checkout: null };
// A kiosk's QR opens /bookings?check_in=<code>&location=<id>: check in there with that code.
const arrival = new URLSearchParams(location.search);

function say(text, kind = "info") {
  $("message").textContent = text;
  $("message").dataset.kind = kind;
}
const errorText = (err) => (err instanceof ProblemError ? err.message : t("common.network_error"));


async function load() {
  renderPush();
  if (!session.signedIn) {
    $("upcoming").replaceChildren(h("li", {}, h("button", { type: "button", onclick: () => openAuth("in"), text: t("bookings.sign_in") })));
    $("past").replaceChildren();
    $("notification-list").replaceChildren();
    return;
  }
  try {
    const [bookings, payments, series] = await Promise.all([allPages("/bookings"), allPages("/payments"), allPages("/me/series")]);
    state.bookings = new Map(bookings.map((b) => [b.id, b]));
    state.series = new Map(series.map((x) => [x.id, x]));
    state.payments = byBooking(payments);
    state.cfg = await config();
    if (!session.signedIn) return;
    await Promise.all(bookings.map((b) => Promise.all([spaceOf(b.space_id), locationOf(b.location_id)])));
    await loadPins();
    await render();
    await loadNotifications();
    offerArrivalCheckIn();
  } catch (err) {
    say(errorText(err), "error");
  } finally {
    $("upcoming").setAttribute("aria-busy", "false");
  }
}

const byBooking = (payments) => new Map(payments.map((p) => [p.booking_id, p]));

/** Amounts paid and refunded, and which series payment an occurrence is part of, live with the payments. */
async function loadPayments() {
  state.payments = byBooking(await allPages("/payments"));
}

/** The check-in PIN of each upcoming confirmed booking (typed on a kiosk to check in there). */
async function loadPins() {
  const now = clock.now();
  const wanted = [...state.bookings.values()].filter((b) => b.status === "confirmed" && Date.parse(b.end) > now && !state.pins.has(b.id));
  await Promise.all(wanted.map(async (b) => {
    const detail = await api(`/bookings/${b.id}`);
    if (detail.check_in_pin) state.pins.set(b.id, detail.check_in_pin);
  }));
}

async function render() {
  const now = clock.now();
  const all = [...state.bookings.values()];
  const isUpcoming = (b) => LIVE.includes(b.status) && Date.parse(b.end) > now;
  // A series is one item, placed by its next live occurrence (else by its first).
  const items = [];
  const groups = new Map();
  for (const b of all) {
    if (!b.series_id) { items.push({ at: Date.parse(b.start), upcoming: isUpcoming(b), booking: b }); continue; }
    if (!groups.has(b.series_id)) groups.set(b.series_id, []);
    groups.get(b.series_id).push(b);
  }
  for (const [id, list] of groups) {
    const next = list.filter(isUpcoming).sort((a, b) => Date.parse(a.start) - Date.parse(b.start))[0];
    items.push({ at: Date.parse((next ?? list[0]).start), upcoming: Boolean(next), series: id, list });
  }
  const upcoming = items.filter((i) => i.upcoming).sort((a, b) => a.at - b.at);
  const past = items.filter((i) => !i.upcoming).sort((a, b) => b.at - a.at);
  const draw = (i) => (i.booking ? card(i.booking) : seriesCard(state.series.get(i.series), i.list, seriesPage));
  const cards = async (list) => (list.length ? Promise.all(list.map(draw)) : [h("li", { text: t("bookings.none") })]);
  $("upcoming").replaceChildren(...(await cards(upcoming)));
  $("past").replaceChildren(...(await cards(past.slice(0, 50))));
}

/** What a series card may do in this page. */
const seriesPage = {
  get payments() { return state.payments; },
  onPay: (b, space, zone) => payHold(b, space, zone),
  onPaySeries: (id, held, space, zone) => openCheckout(seriesToPay(id, held), space, zone),
  dialog: (...args) => dialog(...args),
  say: (...args) => say(...args),
  errorText: (err) => errorText(err),
  done: () => load(),
};

async function card(b) {
  const [space, loc] = await Promise.all([spaceOf(b.space_id), locationOf(b.location_id)]);
  const zone = loc.timezone;
  const pay = state.payments.get(b.id);
  const facts = [
    [t("bookings.status"), h("span", { class: "state", text: t(`state.${b.status}`) })],
    [t("bookings.price"), b.price_cents ? fmt.money(b.price_cents, b.currency) : t("space.free_of_charge")],
  ];
  if (pay?.status && pay.status !== "requires_payment" && pay.status !== "failed") facts.push([t("bookings.paid"), fmt.money(pay.amount_cents, pay.currency)]);
  if (pay?.refunded_cents) facts.push([t("bookings.refunded"), fmt.money(pay.refunded_cents, pay.currency)]);
  if (b.status === "confirmed" && state.pins.has(b.id)) facts.push([t("bookings.pin"), h("span", { class: "pin-value", text: state.pins.get(b.id) })]);
  if (b.status === "held" && b.expires_at) facts.push([t("bookings.hold"), t("bookings.expires", { time: fmt.time(b.expires_at, zone) })]);
  if (b.status === "pending_approval" && b.expires_at) facts.push([t("bookings.decision"), t("bookings.decision_by", { time: fmt.dateTime(b.expires_at, zone) })]);
  const actions = [];
  if (b.status === "held") actions.push(h("button", { type: "button", onclick: () => payHold(b, space, zone), text: t("bookings.pay") }));
  if (canCheckIn(b, loc)) actions.push(h("button", { type: "button", onclick: () => checkIn(b, loc), text: t("bookings.check_in") }));
  if (["held", "confirmed"].includes(b.status) && Date.parse(b.start) > clock.now()) {
    actions.push(h("button", { type: "button", class: "secondary", onclick: () => reschedule(b, loc), text: t("bookings.reschedule") }));
  }
  if (["held", "confirmed"].includes(b.status)) {
    actions.push(h("button", { type: "button", class: "secondary", onclick: () => cancel(b), text: t("bookings.cancel") }));
  }
  if (b.status === "pending_approval") {
    actions.push(h("button", { type: "button", class: "secondary", onclick: () => cancel(b), text: t("bookings.withdraw") }));
  }
  return h("li", { class: "booking", "data-booking": b.id, "data-status": b.status },
    h("h3", { text: space.name }),
    h("p", { class: "muted", text: `${loc.name} · ${fmt.range(b.start, b.end, zone)}` }),
    h("dl", {}, ...facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", {}, v)])),
    actions.length ? h("div", { class: "actions" }, ...actions) : null);
}

function canCheckIn(b, loc) {
  if (b.status !== "confirmed") return false;
  const now = clock.now();
  const early = (loc.booking_rules?.check_in_early_minutes ?? 15) * 60_000;
  const grace = (state.cfg?.no_show_grace_seconds ?? 900) * 1000;
  return now >= Date.parse(b.start) - early && now < Math.min(Date.parse(b.start) + grace, Date.parse(b.end));
}

// ---------------------------------------------------------------- actions

function payHold(b, space, zone) {
  openCheckout(bookingToPay(b), space, zone);
}

function openCheckout(order, space, zone) {
  const panel = $("checkout");
  panel.hidden = false;
  state.checkout?.stop();
  state.checkout = startCheckout(panel, order, {
    zone, spaceName: space.name,
    onDone: () => { state.checkout = null; panel.hidden = true; panel.replaceChildren(); },
    // A payment made (or refused: the page was stale) changes which Pay buttons the cards offer.
    onIntent: () => loadPayments().then(render).catch((err) => say(errorText(err), "error")),
  });
  panel.scrollIntoView({ block: "nearest" });
}

async function checkIn(b, loc, code = "") {
  if (!loc.booking_rules?.check_in_needs_presence) {
    try {
      upsert(await write(`/spaces/${b.space_id}/bookings/${b.id}/check-in`, {}));
      say(t("bookings.checked_in"), "success");
    } catch (err) { say(errorText(err), "error"); }
    return;
  }
  // The location asks for proof of presence: the code its kiosk shows (typed, or from its QR).
  const input = h("input", { id: "presence-code", inputmode: "numeric", pattern: "[0-9]{6}", maxlength: 6, required: true, value: code, autocomplete: "one-time-code" });
  dialog(t("bookings.presence_title"), [h("p", { class: "field" }, h("label", { for: "presence-code", text: t("bookings.presence_code") }), input)],
    t("bookings.check_in"), async () => {
      upsert(await write(`/spaces/${b.space_id}/bookings/${b.id}/check-in`, { presence_code: input.value.trim() }));
      say(t("bookings.checked_in"), "success");
    }, { danger: false, cancelText: t("common.cancel") });
}

function offerArrivalCheckIn() {
  const code = arrival.get("check_in");
  const locationId = Number(arrival.get("location"));
  if (!code || !locationId) return;
  history.replaceState(null, "", location.pathname); // the code is single-use in spirit
  arrival.delete("check_in");
  const b = [...state.bookings.values()].find((x) => x.location_id === locationId && canCheckIn(x, loadedLocation(locationId)));
  if (b) checkIn(b, loadedLocation(locationId), code);
}

function dialog(title, body, confirmText, onConfirm, { danger = true, cancelText = t("bookings.keep") } = {}) {
  const error = h("p", { class: "message", role: "alert", "data-kind": "error" });
  const el = h("dialog", { "aria-labelledby": "dialog-title" });
  const confirm = h("button", { type: "submit", class: danger ? "danger" : null, text: confirmText });
  const form = h("form", { method: "dialog" }, h("h2", { id: "dialog-title", text: title }), ...body, error,
    h("div", { class: "actions" }, confirm,
      h("button", { type: "button", class: "secondary", onclick: () => el.close(), text: cancelText })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    confirm.disabled = true;
    try { await onConfirm(); el.close(); } catch (err) { error.textContent = errorText(err); confirm.disabled = false; }
  });
  el.append(form);
  el.addEventListener("close", () => el.remove());
  document.body.append(el);
  el.showModal();
  return el;
}

async function cancel(b) {
  let preview;
  try { preview = await api(`/bookings/${b.id}/cancellation`); } catch (err) { say(errorText(err), "error"); return; }
  const text = preview.paid_cents
    ? t("bookings.cancel_refund", {
      refund: fmt.money(preview.refund_cents, preview.currency), percent: preview.refund_percent,
      paid: fmt.money(preview.paid_cents, preview.currency),
    })
    : t("bookings.cancel_nothing_paid");
  dialog(t("bookings.cancel_title"), [h("p", { id: "refund-preview", text })], t("bookings.cancel_confirm"), async () => {
    upsert(await write(`/spaces/${b.space_id}/bookings/${b.id}/cancel`, {}));
    say(t("bookings.cancelled"), "success");
  });
}

function reschedule(b, loc) {
  const zone = loc.timezone;
  const rules = loc.booking_rules;
  const minutes = (Date.parse(b.end) - Date.parse(b.start)) / 60_000;
  const date = h("input", { id: "rs-date", type: "date", value: localDate(Date.parse(b.start), zone), required: true });
  const time = h("select", { id: "rs-time" }, ...Array.from({ length: (24 * 60) / rules.granularity_minutes }, (_, i) => {
    const m = i * rules.granularity_minutes;
    return h("option", { value: m, text: hhmm(m) });
  }));
  time.value = String(localMinutes(Date.parse(b.start), zone));
  const quote = h("p", { class: "quote", role: "status" });
  const slot = () => {
    const start = localInstant(date.value, Number(time.value), zone);
    return { start: new Date(start).toISOString(), end: new Date(start + minutes * 60_000).toISOString() };
  };
  const requote = async () => {
    try {
      const q = await api(`/spaces/${b.space_id}/quote?${new URLSearchParams(slot())}`, { auth: false });
      quote.textContent = `${fmt.range(q.start, q.end, zone)} · ${fmt.money(q.price_cents, q.currency)}`;
    } catch (err) { quote.textContent = errorText(err); }
  };
  date.addEventListener("change", requote);
  time.addEventListener("change", requote);
  requote();
  dialog(t("bookings.reschedule_title"), [
    h("p", { class: "field" }, h("label", { for: "rs-date", text: t("find.date") }), date),
    h("p", { class: "field" }, h("label", { for: "rs-time", text: t("space.start") }), time),
    quote,
  ], t("bookings.reschedule_confirm"), async () => {
    upsert(await write(`/spaces/${b.space_id}/bookings/${b.id}/reschedule`, slot()));
    say(t("bookings.rescheduled"), "success");
  });
}

function upsert(row) {
  state.bookings.set(row.id, { ...state.bookings.get(row.id), ...row });
  render();
}

// ---------------------------------------------------------------- notifications

async function loadNotifications() {
  if (!session.signedIn) return; // signed out (here or in another tab) meanwhile
  const page = await api("/notifications?limit=30");
  resetUnread(page.unread_count);
  $("notification-list").replaceChildren(...(page.items.length ? page.items.map(notification) : [h("li", { text: t("bookings.no_notifications") })]));
}

function notification(n) {
  const zone = undefined; // the viewer's own clock: when it arrived
  const title = t(`event.${n.type}`) === `event.${n.type}` ? n.title : t(`event.${n.type}`);
  const li = h("li", { "data-unread": String(!n.read_at), "data-notification": n.id },
    h("span", {}, `${title} · `, h("time", { datetime: n.created_at, text: fmt.dateTime(n.created_at, zone) })));
  if (!n.read_at) {
    li.append(h("button", {
      type: "button", class: "link", text: t("bookings.mark_read"),
      onclick: async () => {
        await api(`/notifications/${n.id}/read`, { method: "POST" });
        li.dataset.unread = "false";
        li.querySelector("button").remove();
        adjustUnread(-1);
      },
    }));
  }
  return li;
}

/** A personal event: the booking's card changes from the payload, the list gains a line. */
async function onMine(envelope) {
  const d = envelope.data || {};
  if (RELOAD.includes(envelope.type)) {
    await load();
    state.checkout?.apply(envelope);
    return;
  }
  const known = state.bookings.get(d.booking_id);
  if (known || ["booking.held", "booking.pending_approval", "waitlist.offer"].includes(envelope.type)) {
    state.bookings.set(d.booking_id, {
      ...known, id: d.booking_id, space_id: d.space_id, location_id: d.location_id, start: d.start, end: d.end,
      status: d.status, price_cents: d.price_cents ?? known?.price_cents, currency: d.currency ?? known?.currency,
      expires_at: d.expires_at ?? null, series_id: d.series_id ?? known?.series_id ?? null,
    });
    if (["booking.confirmed", "booking.refunded", "booking.cancelled"].includes(envelope.type)) {
      await loadPayments();
    }
    await render();
  }
  await loadNotifications();
  state.checkout?.apply(envelope);
}

function start() {
  startShell({ onAccount: () => { load(); waitlist.load().catch((err) => say(errorText(err), "error")); } });
  $("read-all").addEventListener("click", async () => {
    await api("/notifications/read-all", { method: "POST" });
    await loadNotifications();
  });
  const offers = showWaitlist($("my-waitlist"), { say });
  showFeed($("calendar-feed"), { say, dialog: (...args) => dialog(...args, { danger: false, cancelText: t("common.cancel") }) });
  document.addEventListener("me-event", (e) => { onMine(e.detail); waitlist.apply(e.detail); offers.apply(e.detail); });
  document.addEventListener("me-resync", () => { load(); waitlist.load(); });
  document.addEventListener("langchange", () => {
    translate(document); render(); loadNotifications(); renderPush();
  });
  startPush();
  if (location.hash === "#notifications") $("notifications").focus();
}

start();
