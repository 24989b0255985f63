// The chosen space: what it is, its day timeline (free / held / booked, live), a start and a
// length on the location's grid, the price before holding, then the hold and its checkout; or a
// weekly series of it; a taken slot's waitlist; a request where the space needs approval.

import { api, clock, h, ProblemError, session, write } from "./core.js";
import { bookingToPay, startCheckout } from "./checkout.js";
import { STATUS_ICON } from "./floor.js";
import { addDays, fmt, hhmm, localInstant, t } from "./i18n.js";
import { outcomes, RepeatForm } from "./series.js";
import { openAuth } from "./shell.js";
import { waitlist } from "./waitlist.js";

// Availability's busy statuses; `buffer` is a booking's turnaround (docs/scheduling.md).
const BUSY = { held: "held", confirmed: "booked", checked_in: "occupied", pending_approval: "pending", buffer: "turnaround" };
const MAX_LENGTH_MINUTES = 12 * 60;
// A slot taken by one of these can be waited for (a turnaround or a booking in use cannot).
const WAITABLE = ["held", "booked", "pending"];

export class SpacePanel {
  constructor(root, { zone, detail, wanted, onClose }) {
    Object.assign(this, { root, zone, detail, wanted, onClose });
    this.space = null;      // catalogue item of the chosen space
    this.day = null;        // { date, free: [[s, e]], busy: [{start, end, status}], open: [[s, e]] }
    this.quote = null;
    this.checkout = null;
    this.repeat = new RepeatForm();
    this.series = null;     // the last series booked here: each occurrence's outcome
    root.addEventListener("keydown", (e) => { if (e.key === "Escape") this.close(); });
    waitlist.listeners.add(() => this.render());
  }

  async open(floorSpace) {
    this.notice = null;
    this.series = null;
    this.checkout?.stop();
    this.checkout = null;
    this.root.hidden = false;
    this.root.replaceChildren(h("p", { text: t("common.loading") }));
    try {
      this.space = await api(`/spaces/${floorSpace.id}`);
      await this.reload();
    } catch (err) {
      this.root.replaceChildren(h("p", { class: "message", "data-kind": "error", text: err.message }));
      return;
    }
    this.root.querySelector("h2")?.focus();
  }

  close(focus = true) {
    this.checkout?.stop();
    this.checkout = null;
    const id = this.space?.id;
    this.space = null;
    this.root.hidden = true;
    if (focus && id) this.onClose(id);
  }

  /** Refetch the day (a new date, new opening hours, or events lost). */
  async reload() {
    if (!this.space) return;
    const zone = this.zone();
    const date = this.wanted().date;
    const from = localInstant(date, 0, zone);
    const to = localInstant(addDays(date, 1), 0, zone);
    const a = await api(`/spaces/${this.space.id}/availability?${new URLSearchParams({
      from: new Date(from).toISOString(), to: new Date(to).toISOString(),
    })}`);
    const free = a.free.map((f) => [Date.parse(f.start), Date.parse(f.end)]);
    const busy = a.busy.map((b) => ({ start: Date.parse(b.start), end: Date.parse(b.end), status: b.status }));
    this.day = { date, from, to, busy, open: merge([...free, ...busy.map((b) => [b.start, b.end])]) };
    this.render();
  }

  /** A public event: the timeline of this space changes from the payload alone. */
  apply(envelope) {
    if (envelope.type === "location.updated" && this.space) { this.reload(); return; }
    if (envelope.type === "space.updated" && envelope.data.id === this.space?.id) {
      this.space = { ...this.space, ...envelope.data };
      this.render();
      return;
    }
    if (!this.day || !envelope.type?.startsWith("booking.") || envelope.space_id !== this.space?.id) return;
    const d = envelope.data;
    const drop = (s, e) => { this.day.busy = this.day.busy.filter((b) => !(b.start === Date.parse(s) && b.end === Date.parse(e))); };
    if (d.previous_start) drop(d.previous_start, d.previous_end);
    drop(d.start, d.end);
    if (BUSY[d.status]) this.day.busy.push({ start: Date.parse(d.start), end: Date.parse(d.end), status: d.status });
    this.render();
  }

  /** My own booking's events (confirmed after paying, expiring, expired). */
  applyMine(envelope) { this.checkout?.apply(envelope); }

  freeIntervals() {
    const now = clock.now();
    let free = this.day.open.map(([s, e]) => [Math.max(s, now), e]).filter(([s, e]) => e > s);
    for (const b of this.day.busy) free = free.flatMap(([s, e]) => subtract([s, e], [b.start, b.end]));
    return free;
  }

  // ---------------------------------------------------------------- drawing

  render() {
    if (!this.space || !this.day) return;
    if (this.checkout) return; // the checkout owns the panel until it ends
    const zone = this.zone();
    const s = this.space;
    // Live events redraw the panel: whoever had focus in it keeps it.
    const focused = this.root.contains(document.activeElement) ? document.activeElement.id : null;
    const price = s.is_free ? t("space.free_of_charge") : t("space.per_hour", { price: fmt.money(s.hourly_price_cents, s.currency) });
    this.root.replaceChildren(...[
      h("h2", { id: "details-title", tabindex: "-1", text: s.name }),
      h("p", { class: "muted", text: `${t(`type.${s.type}`)} · ${t("floor.seats", { n: s.capacity })} · ${price}` }),
      s.amenities.length ? h("p", { class: "chips" }, ...s.amenities.map((a) => h("span", { class: "chip static", text: a }))) : null,
      h("h3", { text: t("space.day", { date: fmt.date(new Date(this.day.from + 12 * 3_600_000).toISOString(), zone) }) }),
      this.timeline(zone),
      this.form(zone),
      s.requires_approval ? h("p", { class: "hint", text: t("space.needs_approval") }) : null,
      h("p", { id: "quote", class: "quote", role: "status" }),
      h("button", { id: "hold", type: "button", onclick: () => this.hold(), text: t(!session.signedIn ? "space.sign_in_to_book" : this.repeat.on ? "series.book" : "space.hold") }),
      h("p", { id: "hold-message", class: "message", role: "alert", "data-kind": this.notice?.kind, text: this.notice?.text }),
      this.series ? outcomes(this.series.occurrences, zone) : null,
      this.series?.id ? h("p", {}, h("a", { href: "/bookings", text: t("pay.see_bookings") })) : null,
      h("button", { type: "button", class: "secondary", onclick: () => this.close(), text: t("common.close") }),
    ].filter(Boolean)); // a part not shown is null: replaceChildren would print it
    this.refreshLengths(); // lengths depend on the start just drawn; then the quote
    if (focused) this.root.querySelector(`#${focused}`)?.focus();
  }

  timeline(zone) {
    const { from, to } = this.day;
    const span = to - from;
    const pct = (ms) => `${(((ms - from) / span) * 100).toFixed(3)}%`;
    const segments = [];
    for (const [s, e] of this.freeIntervals()) segments.push({ s, e, kind: "free" });
    for (const b of this.day.busy) segments.push({ s: b.start, e: b.end, kind: BUSY[b.status] || "booked" });
    const now = clock.now();
    segments.sort((a, b) => a.s - b.s);
    const bar = h("div", { class: "timeline-bar", "aria-hidden": "true" },
      ...segments.map((seg) => {
        const el = h("span", { class: `seg ${seg.kind}` });
        el.style.left = pct(Math.max(seg.s, from));
        el.style.width = `${(((Math.min(seg.e, to) - Math.max(seg.s, from)) / span) * 100).toFixed(3)}%`;
        return el;
      }),
      ...[6, 12, 18].map((hour) => {
        const tick = h("span", { class: "tick", text: hhmm(hour * 60) });
        tick.style.left = `${(hour / 24) * 100}%`;
        return tick;
      }));
    const iso = (ms) => new Date(ms).toISOString();
    const list = h("ul", { class: "timeline-list", "aria-label": t("space.timeline") },
      ...(segments.length ? segments.map((seg) => h("li", { "data-kind": seg.kind },
        `${STATUS_ICON[seg.kind] || ""} ${fmt.time(iso(seg.s), zone, { note: false })}–${fmt.time(iso(seg.e), zone, { endOfDay: true })} ${t(`status.${seg.kind}`)}`,
        WAITABLE.includes(seg.kind) && seg.s > now ? this.waitButton(seg, zone) : null))
        : [h("li", { text: t("space.closed_day") })]));
    return h("div", { class: "timeline" }, bar, list);
  }

  /** Join (or leave) the waitlist of a taken slot. */
  waitButton(seg, zone) {
    const entry = waitlist.entryFor(this.space.id, seg.s, seg.e);
    if (entry?.status === "offered") return null; // taken or declined under My waitlist
    const when = `${fmt.time(new Date(seg.s).toISOString(), zone, { note: false })}–${fmt.time(new Date(seg.e).toISOString(), zone, { endOfDay: true })}`;
    const key = entry ? "wl.leave" : "wl.join";
    return h("button", {
      type: "button", class: "link wait", "aria-label": `${t(key)}: ${when}`, text: t(key),
      onclick: () => this.wait(seg, entry),
    });
  }

  async wait(seg, entry) {
    if (!session.signedIn && !(await openAuth("in"))) return;
    try {
      if (entry) {
        await waitlist.leave(entry);
        this.tell(t("wl.left"), "success");
      } else {
        await waitlist.join(this.space.id, { start: new Date(seg.s).toISOString(), end: new Date(seg.e).toISOString() });
        this.tell(t("wl.joined"), "success");
      }
    } catch (err) {
      this.tell(err instanceof ProblemError ? err.message : t("common.network_error"), "error");
    }
  }

  /** A message under the hold button, kept when live events redraw the panel. */
  tell(text, kind) {
    this.notice = { text, kind };
    const message = this.root.querySelector("#hold-message");
    if (message) {
      message.textContent = text;
      message.dataset.kind = kind;
    }
  }

  form(zone) {
    const rules = this.detail().booking_rules;
    const grid = rules.granularity_minutes * 60_000;
    const free = this.freeIntervals();
    const starts = free.flatMap(([s, e]) => {
      const out = [];
      for (let x = Math.ceil(s / grid) * grid; x + rules.min_minutes * 60_000 <= e; x += grid) out.push(x);
      return out;
    });
    const wanted = this.wanted();
    const wish = localInstant(wanted.date, wanted.time, zone);
    const previous = Number(this.root.querySelector("#slot-start")?.value);
    const chosen = starts.includes(previous) ? previous : starts.find((x) => x >= wish) ?? starts[0];
    const startSelect = h("select", { id: "slot-start", onchange: () => this.refreshLengths() },
      ...starts.map((x) => h("option", { value: x, selected: x === chosen, text: fmt.time(new Date(x).toISOString(), zone) })));
    const lengthSelect = h("select", { id: "slot-length", onchange: () => this.requote() });
    this.wantLength = this.root.querySelector("#slot-length")?.value || wanted.length;
    const form = h("div", { class: "slot-form" },
      h("p", { class: "field" }, h("label", { for: "slot-start", text: t("space.start") }), startSelect),
      h("p", { class: "field" }, h("label", { for: "slot-length", text: t("space.length") }), lengthSelect));
    if (!starts.length) return h("p", { class: "muted", text: t("space.no_free_time") });
    return h("div", {}, form, this.repeat.element(chosen, zone, () => this.render()));
  }

  refreshLengths() {
    const start = Number(this.root.querySelector("#slot-start")?.value);
    const select = this.root.querySelector("#slot-length");
    if (!select || !start) return;
    const rules = this.detail().booking_rules;
    const interval = this.freeIntervals().find(([s, e]) => s <= start && start < e);
    const room = interval ? Math.min((interval[1] - start) / 60_000, rules.max_minutes, MAX_LENGTH_MINUTES) : 0;
    const lengths = [];
    for (let m = rules.min_minutes; m <= room; m += rules.granularity_minutes) lengths.push(m);
    const want = Number(select.value || this.wantLength);
    select.replaceChildren(...lengths.map((m) => h("option", { value: m, text: fmt.duration(m) })));
    select.value = String(lengths.includes(want) ? want : lengths.filter((m) => m <= want).pop() ?? lengths[0]);
    this.requote();
  }

  chosenSlot() {
    const start = Number(this.root.querySelector("#slot-start")?.value);
    const minutes = Number(this.root.querySelector("#slot-length")?.value);
    if (!start || !minutes) return null;
    return { start: new Date(start).toISOString(), end: new Date(start + minutes * 60_000).toISOString() };
  }

  async requote() {
    const slot = this.chosenSlot();
    this.quote = null;
    this.showQuote();
    if (!slot) return;
    try {
      const q = await api(`/spaces/${this.space.id}/quote?${new URLSearchParams(slot)}`, { auth: false });
      if (JSON.stringify(this.chosenSlot()) === JSON.stringify(slot)) { this.quote = q; this.showQuote(); }
    } catch (err) {
      const el = this.root.querySelector("#quote");
      if (el) el.textContent = err.message;
    }
  }

  showQuote() {
    const el = this.root.querySelector("#quote");
    if (!el) return;
    const slot = this.chosenSlot();
    el.textContent = !slot ? "" : this.quote
      ? `${fmt.range(slot.start, slot.end, this.zone())} · ${this.quote.price_cents ? fmt.money(this.quote.price_cents, this.quote.currency) : t("space.free_of_charge")}`
      : t("space.pricing");
    const button = this.root.querySelector("#hold");
    if (button) button.disabled = !slot;
  }

  // ---------------------------------------------------------------- hold and pay

  async hold() {
    if (!session.signedIn && !(await openAuth("in"))) return;
    const slot = this.chosenSlot();
    if (!slot || this.holding) return;
    // Not `disabled`: a focused button that is disabled drops the keyboard user's focus.
    this.holding = true;
    const zone = this.zone();
    try {
      if (this.repeat.on) {
        await this.bookSeries(slot, zone);
        return;
      }
      const booking = await write(`/spaces/${this.space.id}/bookings`, slot);
      const when = fmt.range(booking.start, booking.end, zone);
      if (booking.status === "confirmed") {
        this.tell(t("space.booked", { when }), "success");
      } else if (booking.status === "pending_approval") {
        this.tell(t("space.requested", { when, time: fmt.dateTime(booking.expires_at, zone) }), "success");
      } else {
        this.checkout = startCheckout(this.root, bookingToPay(booking), {
          zone, spaceName: this.space.name,
          onDone: () => { this.checkout = null; this.render(); },
        });
      }
    } catch (err) {
      if (err instanceof ProblemError && Array.isArray(err.problem.occurrences)) {
        this.series = { occurrences: err.problem.occurrences }; // why none was booked
        this.render();
      }
      this.tell(err instanceof ProblemError ? err.message : t("common.network_error"), "error");
    } finally {
      this.holding = false;
    }
  }

  /** A weekly series from the chosen slot: each occurrence's outcome is shown under it. */
  async bookSeries(slot, zone) {
    const answer = await write(`/spaces/${this.space.id}/series`, this.repeat.body(slot, zone));
    const booked = answer.occurrences.filter((o) => o.outcome === "booked");
    const toPay = booked.some((o) => o.booking.status === "held");
    this.series = answer;
    this.repeat.on = false;
    this.notice = { text: t(toPay ? "series.booked_pay" : "series.booked", { n: booked.length, total: answer.occurrences.length }), kind: "success" };
    await this.reload();
  }
}

function merge(intervals) {
  const out = [];
  for (const [s, e] of intervals.sort((a, b) => a[0] - b[0])) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

function subtract([s, e], [bs, be]) {
  if (be <= s || bs >= e) return [[s, e]];
  return [[s, bs], [be, e]].filter(([a, b]) => b > a);
}
