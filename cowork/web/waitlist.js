// The member's waitlist (docs/scheduling.md): join a taken slot, leave it; when it frees, the
// offer arrives live on the member's stream with its countdown: take it (a free space), pay it
// like any hold (a paid one), or decline it. Shared by the find page and My bookings.

import { api, clock, h, locationOf, ProblemError, session, spaceOf, write } from "./core.js";
import { bookingToPay, startCheckout } from "./checkout.js";
import { fmt, t } from "./i18n.js";

const LIVE = ["waiting", "offered"];

/** My live entries (waiting or offered), newest first; pages subscribe to its changes. */
export const waitlist = {
  entries: [],
  offers: new Map(), // booking id → the held booking offered (price, expiry)
  listeners: new Set(),

  async load() {
    if (!session.signedIn) {
      this.entries = [];
    } else {
      const page = await api("/me/waitlist?limit=100");
      this.entries = page.items.filter((e) => LIVE.includes(e.status));
      await Promise.all(this.entries.filter((e) => e.status === "offered" && !this.offers.has(e.booking_id))
        .map(async (e) => this.offers.set(e.booking_id, await api(`/bookings/${e.booking_id}`))));
    }
    this.changed();
  },
  changed() { for (const listener of this.listeners) listener(); },

  /** My entry waiting for exactly this slot of this space, if any. */
  entryFor(spaceId, startMs, endMs) {
    return this.entries.find((e) => e.space_id === spaceId && Date.parse(e.start) === startMs && Date.parse(e.end) === endMs);
  },
  async join(spaceId, slot) {
    const entry = await write(`/spaces/${spaceId}/waitlist`, slot);
    this.entries = [entry, ...this.entries];
    this.changed();
    return entry;
  },
  /** Leave; with an open offer this declines it (it passes to the next member). */
  async leave(entry) {
    await api(`/spaces/${entry.space_id}/waitlist/${entry.id}`, { method: "DELETE" });
    this.entries = this.entries.filter((e) => e.id !== entry.id);
    this.changed();
  },

  /** A personal event: an offer arrived, or what became of one (paid, lapsed, cancelled). */
  apply(envelope) {
    const id = envelope.data?.booking_id;
    if (envelope.type === "waitlist.offer" || (id && this.entries.some((e) => e.booking_id === id))) {
      this.offers.delete(id);
      this.load();
    }
  },
};

/** The "My waitlist" section into `root` (hidden while empty); live until the page goes. */
export function showWaitlist(root, { say }) {
  const list = h("ul", { id: "waitlist-list", class: "cards" });
  const pay = h("div", { id: "offer-checkout", class: "details", hidden: true });
  let checkout = null;
  const title = h("h2", { id: "waitlist-title" });
  root.replaceChildren(title, list, pay);
  root.setAttribute("aria-labelledby", "waitlist-title");

  const draw = async () => {
    root.hidden = !waitlist.entries.length && !checkout;
    title.textContent = t("wl.heading");
    list.replaceChildren(...(await Promise.all(waitlist.entries.map(card))));
    tick();
  };
  const tick = () => {
    for (const el of list.querySelectorAll("[data-offer-until]")) {
      const left = Math.max(0, Date.parse(el.dataset.offerUntil) - clock.now());
      el.textContent = t("wl.offer_left", { time: `${Math.floor(left / 60_000)}:${String(Math.floor((left % 60_000) / 1000)).padStart(2, "0")}` });
      el.dataset.urgent = String(left < 60_000);
    }
  };
  setInterval(tick, 1000);

  async function card(entry) {
    const [space, loc] = await Promise.all([spaceOf(entry.space_id), locationOf(entry.location_id)]);
    const zone = loc.timezone;
    const when = fmt.range(entry.start, entry.end, zone);
    const li = h("li", { class: "booking", "data-entry": entry.id, "data-status": entry.status },
      h("h3", { text: space.name }), h("p", { class: "muted", text: `${loc.name} · ${when}` }));
    if (entry.status === "waiting") {
      li.append(h("p", { text: t("wl.waiting") }), h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", "aria-label": `${t("wl.leave")}: ${space.name}, ${when}`, text: t("wl.leave"), onclick: () => act(() => waitlist.leave(entry), t("wl.left")) })));
      return li;
    }
    const offer = waitlist.offers.get(entry.booking_id);
    const paid = offer && offer.price_cents > 0;
    li.append(
      h("p", { class: "offer", text: t("wl.offered", { time: fmt.time(entry.offer_expires_at, zone) }) }),
      h("p", { class: "countdown", role: "timer", "data-offer-until": entry.offer_expires_at }),
      paid ? h("p", { class: "price", text: fmt.money(offer.price_cents, offer.currency) }) : null,
      h("div", { class: "actions" },
        h("button", { type: "button", text: t(paid ? "wl.pay" : "wl.take"), onclick: () => (paid ? payOffer(offer, space, zone) : act(() => take(entry), t("wl.taken"))) }),
        h("button", { type: "button", class: "secondary", text: t("wl.decline"), onclick: () => act(() => waitlist.leave(entry), t("wl.declined")) })));
    return li;
  }

  async function take(entry) {
    await write(`/spaces/${entry.space_id}/waitlist/${entry.id}/accept`, {});
    await waitlist.load();
  }

  function payOffer(offer, space, zone) {
    checkout?.stop();
    pay.hidden = false;
    checkout = startCheckout(pay, bookingToPay(offer), {
      zone, spaceName: space.name,
      onDone: () => { checkout = null; pay.hidden = true; pay.replaceChildren(); draw(); },
    });
  }

  async function act(run, done) {
    try { await run(); say(done, "success"); } catch (err) {
      say(err instanceof ProblemError ? err.message : t("common.network_error"), "error");
    }
  }

  waitlist.listeners.add(draw);
  document.addEventListener("langchange", draw);
  draw();
  return { apply: (envelope) => checkout?.apply(envelope) };
}
