// Paying held bookings in the page: one booking, or the held occurrences of a series with one
// PaymentIntent. A countdown to the (earliest) hold's expiry, the card form of Stripe.js (GET
// /config names the script: Stripe's, or localstripe's fake in dev), then each booking's
// confirmation arrives live on the member's stream (the webhook confirms, not the page).

import { api, clock, config, h, ProblemError } from "./core.js";
import { fmt, t } from "./i18n.js";

const OUTCOMES = { "booking.confirmed": "confirmed", "booking.expired": "expired", "booking.cancelled": "cancelled" };
let stripeScript = null;

/** Load Stripe.js once, as a classic script (localstripe's reads document.currentScript). */
function loadStripe(url) {
  stripeScript ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve(window.Stripe);
    script.onerror = () => { stripeScript = null; reject(new Error("Stripe.js did not load")); };
    document.head.append(script);
  });
  return stripeScript;
}

/** localstripe's fake Stripe.js cannot confirm a card payment: dev confirms through the node. */
function isLocalStripe(url) {
  return !url.startsWith("https://js.stripe.com/");
}

/** What a checkout pays: one held booking, with its own PaymentIntent. */
export function bookingToPay(booking) {
  return { bookings: [booking], intent: () => api(`/bookings/${booking.id}/payment`, { method: "POST", body: {} }) };
}

/** What a checkout pays: the held occurrences of a series, all with one PaymentIntent. */
export function seriesToPay(seriesId, held) {
  return { series: seriesId, bookings: held, intent: () => api(`/series/${seriesId}/payment`, { method: "POST", body: {} }) };
}

/** The bookings an event settles, each with its outcome: its own event, or its series cancelled
 * (the member hears of a series cancellation once, naming each occurrence). */
function settled(envelope) {
  if (envelope.type === "series.cancelled") return (envelope.data?.cancelled ?? []).map((c) => [c.booking_id, "cancelled"]);
  const outcome = OUTCOMES[envelope.type];
  return outcome ? [[envelope.data?.booking_id, outcome]] : [];
}

/** One occurrence of a series checkout, with its state as the stream tells it. */
function line(b, zone) {
  return h("li", { "data-booking": b.id, "data-status": b.status }, h("div", { class: "occurrence" },
    h("span", { class: "when", text: fmt.range(b.start, b.end, zone) }),
    h("span", { class: "terms" }, h("span", { class: "state", text: t(`state.${b.status}`) }), ` ${fmt.money(b.price_cents, b.currency)}`)));
}

/** The checkout of `order` (from bookingToPay or seriesToPay) drawn in `root`; `onIntent` runs
 * once the node has answered for the intent (the page's payments changed, or it was stale). */
export function startCheckout(root, order, { zone, spaceName, onDone, onIntent = () => {} }) {
  const single = !order.series;
  const byId = new Map(order.bookings.map((b) => [b.id, b]));
  const lines = new Map(order.bookings.map((b) => [b.id, line(b, zone)]));
  const outcomes = new Map();
  let awaited = [...byId.keys()];
  const countdown = h("p", { class: "countdown", role: "timer", "aria-live": "off" });
  const status = h("p", { class: "message", role: "status" });
  const intro = h("p");
  const price = h("p", { class: "price" });
  const card = h("div", { id: "card-element", class: "card-element" });
  const form = [h("div", { class: "field" }, h("span", { id: "card-label", class: "label", text: t("pay.card") }), card),
    h("p", { class: "hint", text: t("pay.test_card") })];
  const pay = h("button", { id: "pay", type: "button", disabled: true, text: t("pay.pay") });
  const close = h("button", { type: "button", class: "secondary", text: t("common.close"), onclick: () => finish() });
  let timer = null;
  let element = null;
  let stripe = null;
  let sent = false;
  let over = false;

  const when = (id) => fmt.range(byId.get(id).start, byId.get(id).end, zone);
  const pending = () => awaited.filter((id) => !outcomes.has(id));
  function describe(cents = awaited.reduce((sum, id) => sum + byId.get(id).price_cents, 0)) {
    intro.textContent = single
      ? t("pay.held", { space: spaceName, when: when(awaited[0]) })
      : t("pay.series_held", { n: awaited.length, space: spaceName });
    price.textContent = fmt.money(cents, byId.get(awaited[0]).currency);
  }
  describe();
  root.replaceChildren(...[
    h("h2", { id: "checkout-title", tabindex: "-1", text: t("pay.title") }), intro,
    single ? null : h("ol", { id: "checkout-occurrences", class: "occurrences" }, ...lines.values()),
    price, countdown, ...form, pay, status, close,
  ].filter(Boolean));
  root.querySelector("#checkout-title").focus();
  // In an open series payment already, but no longer held: refunded alone when the money arrives.
  for (const b of order.bookings) if (Object.values(OUTCOMES).includes(b.status)) record(b.id, b.status);

  function tick() {
    if (over) return;
    // The earliest hold still waiting sets the clock; once paid, the stream has the last word.
    const left = Math.max(0, Math.min(...pending().map((id) => Date.parse(byId.get(id).expires_at))) - clock.now());
    const m = Math.floor(left / 60_000);
    const s = Math.floor((left % 60_000) / 1000);
    countdown.textContent = t("pay.expires_in", { time: `${m}:${String(s).padStart(2, "0")}` });
    countdown.dataset.urgent = String(left < 60_000);
    if (left <= 0 && !sent) end("error", t(single ? "pay.expired" : "pay.series_expired"));
  }
  tick();
  timer = setInterval(tick, 1000);

  function say(text, kind) {
    status.textContent = text;
    status.dataset.kind = kind;
  }

  function end(kind, text) {
    if (over) return;
    over = true;
    clearInterval(timer);
    pay.remove();
    card.replaceChildren();
    for (const el of form) el.remove(); // nothing more to type: no empty card box left behind
    countdown.textContent = "";
    say(text, kind);
    if (kind === "success") root.append(h("p", {}, h("a", { href: "/bookings", text: t("pay.see_bookings") })));
  }

  /** Every booking paid for has its outcome: say how it went. */
  function settle() {
    if (over || pending().length) return;
    const confirmed = awaited.filter((id) => outcomes.get(id) === "confirmed").length;
    if (single) {
      const outcome = outcomes.get(awaited[0]);
      end(confirmed ? "success" : "error", confirmed ? t("pay.confirmed", { when: when(awaited[0]) }) : t(`pay.${outcome}`));
    } else if (confirmed) {
      end("success", confirmed === awaited.length ? t("pay.series_confirmed", { n: confirmed })
        : t("pay.series_partly", { n: confirmed, total: awaited.length }));
    } else {
      end("error", t("pay.series_none"));
    }
  }

  function finish() {
    clearInterval(timer);
    element?.destroy?.();
    onDone();
  }

  /** The intent pays the occurrences it names (one paid alone meanwhile is left out). */
  function narrow(intent) {
    if (!intent.occurrences) return;
    const paid = new Set(intent.occurrences.map((o) => o.booking_id).filter((id) => byId.has(id)));
    for (const id of awaited) if (!paid.has(id)) lines.get(id).remove();
    awaited = awaited.filter((id) => paid.has(id));
    describe(intent.amount_cents);
  }

  (async () => {
    let intent;
    try {
      const [cfg, made] = await Promise.all([config(), order.intent().finally(() => { onIntent(); })]);
      intent = made;
      narrow(intent);
      const Stripe = await loadStripe(intent.stripe_js_url || cfg.stripe_js_url);
      stripe = Stripe(intent.publishable_key || cfg.stripe_publishable_key);
      element = stripe.elements().create("card");
      element.mount(card);
      for (const input of card.querySelectorAll("input")) {
        input.setAttribute("aria-label", `${t("pay.card")}: ${input.placeholder.replace("_", " ")}`);
      }
      pay.disabled = over;
      pay.onclick = () => confirm(cfg, intent);
    } catch (err) {
      end("error", err instanceof ProblemError ? err.message : t("common.network_error"));
    }
  })();

  async function confirm(cfg, intent) {
    pay.disabled = true;
    say(t("pay.paying"), "info");
    try {
      if (isLocalStripe(cfg.stripe_js_url)) {
        await api("/dev/card-payments", {
          method: "POST", body: { payment_intent_id: intent.payment_intent_id, card_number: element.value?.card?.number ?? "" },
        });
      } else {
        const result = await stripe.confirmCardPayment(intent.client_secret, { payment_method: { card: element } });
        if (result.error) throw new Error(result.error.message);
      }
      sent = true;
      if (!over) say(t("pay.waiting"), "info");
    } catch (err) {
      say(err.message || t("pay.failed"), "error");
      pay.disabled = over;
    }
  }

  return {
    stop: () => { clearInterval(timer); over = true; },
    apply(envelope) {
      for (const [id, outcome] of settled(envelope)) record(id, outcome);
      settle();
    },
  };

  function record(id, outcome) {
    if (over || !awaited.includes(id) || outcomes.has(id)) return;
    outcomes.set(id, outcome);
    lines.get(id).dataset.status = outcome;
    lines.get(id).querySelector(".state").textContent = t(`state.${outcome}`);
    if (!single && outcome !== "confirmed") {
      lines.get(id).append(h("span", { class: "note", text: ` ${t("pay.occurrence_void")}` }));
      say(t(`pay.occurrence_${outcome}`, { when: when(id) }), "error");
    }
  }
}
