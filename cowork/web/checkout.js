// Paying a held booking in the page: a countdown to the hold's expiry, the card form of
// Stripe.js (GET /config names the script: Stripe's, or localstripe's fake in dev), then the
// confirmation arrives live on the member's stream (the webhook confirms, not the page).

import { api, clock, config, h, ProblemError } from "./core.js";
import { fmt, t } from "./i18n.js";

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

export function startCheckout(root, booking, { zone, spaceName, onDone }) {
  const countdown = h("p", { class: "countdown", role: "timer", "aria-live": "off" });
  const status = h("p", { class: "message", role: "status" });
  const card = h("div", { id: "card-element", class: "card-element" });
  const pay = h("button", { id: "pay", type: "button", disabled: true, text: t("pay.pay") });
  const close = h("button", { type: "button", class: "secondary", text: t("common.close"), onclick: () => finish() });
  const expires = Date.parse(booking.expires_at);
  let timer = null;
  let element = null;
  let stripe = null;
  let over = false;

  root.replaceChildren(
    h("h2", { id: "checkout-title", tabindex: "-1", text: t("pay.title") }),
    h("p", { text: t("pay.held", { space: spaceName, when: fmt.range(booking.start, booking.end, zone) }) }),
    h("p", { class: "price", text: fmt.money(booking.price_cents, booking.currency) }),
    countdown,
    h("div", { class: "field" }, h("span", { id: "card-label", class: "label", text: t("pay.card") }), card),
    h("p", { class: "hint", text: t("pay.test_card") }),
    pay, status, close,
  );
  root.querySelector("#checkout-title").focus();

  function tick() {
    const left = Math.max(0, expires - clock.now());
    const m = Math.floor(left / 60_000);
    const s = Math.floor((left % 60_000) / 1000);
    countdown.textContent = t("pay.expires_in", { time: `${m}:${String(s).padStart(2, "0")}` });
    countdown.dataset.urgent = String(left < 60_000);
    if (left <= 0) end("expired");
  }
  tick();
  timer = setInterval(tick, 1000);

  function say(text, kind) {
    status.textContent = text;
    status.dataset.kind = kind;
  }

  function end(outcome) {
    if (over) return;
    over = true;
    clearInterval(timer);
    pay.remove();
    card.replaceChildren();
    countdown.textContent = "";
    if (outcome === "confirmed") {
      say(t("pay.confirmed", { when: fmt.range(booking.start, booking.end, zone) }), "success");
      root.append(h("p", {}, h("a", { href: "/bookings", text: t("pay.see_bookings") })));
    } else {
      say(t(`pay.${outcome}`), "error");
    }
  }

  function finish() {
    clearInterval(timer);
    element?.destroy?.();
    onDone();
  }

  (async () => {
    try {
      const [cfg, intent] = await Promise.all([
        config(), api(`/bookings/${booking.id}/payment`, { method: "POST", body: {} }),
      ]);
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
      say(err instanceof ProblemError ? err.message : t("common.network_error"), "error");
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
      if (!over) say(t("pay.waiting"), "info");
    } catch (err) {
      say(err.message || t("pay.failed"), "error");
      pay.disabled = over;
    }
  }

  return {
    stop: () => { clearInterval(timer); over = true; },
    apply(envelope) {
      if (envelope.data?.booking_id !== booking.id) return;
      if (envelope.type === "booking.confirmed") end("confirmed");
      else if (["booking.expired", "booking.cancelled"].includes(envelope.type)) end(envelope.type.slice(8));
    },
  };
}
