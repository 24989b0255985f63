// Live streams: an EventSource that resumes from the last event id, reopens itself after the
// browser gives up (with backoff), renews its stream token when the server refuses it, and
// hands each event's envelope to the page, which applies it from the payload.

import { API, api } from "./core.js";

export const BOOKING_EVENTS = [
  "booking.held", "booking.confirmed", "booking.expiring", "booking.expired",
  "booking.cancelled", "booking.refunded", "booking.no_show", "booking.rescheduled",
  "booking.checked_in", "booking.completed", "booking.pending_approval", "booking.approved",
  "booking.declined",
];
export const CATALOGUE_EVENTS = ["space.updated", "location.updated"];
// Personal only (the member's own stream): a waitlist offer, a series booked or cancelled.
export const PERSONAL_EVENTS = ["waitlist.offer", "series.created", "series.cancelled"];

export class LiveStream {
  /**
   * @param {string} path  e.g. "/streams/locations/3"
   * @param {object} handlers  onEvent(envelope), onResync(), onState("live"|"connecting"|...)
   * @param {boolean} personal  needs a stream token (`/streams/me`)
   */
  constructor(path, { onEvent, onResync = () => {}, onState = () => {}, personal = false }) {
    Object.assign(this, { path, onEvent, onResync, onState, personal });
    this.lastId = null;
    this.source = null;
    this.attempt = 0;
    this.closed = false;
    this.timer = null;
    // A page being left closes its streams: an aborted stream is not a failed request.
    this.onPageHide = () => this.close();
    addEventListener("pagehide", this.onPageHide);
  }

  async open() {
    if (this.closed) return;
    this.source?.close();
    const url = new URL(API + this.path, location.origin);
    if (this.lastId) url.searchParams.set("last_event_id", this.lastId);
    if (this.personal) {
      try {
        url.searchParams.set("token", (await api("/streams/token", { method: "POST" })).token);
      } catch {
        this.retry();
        return;
      }
    }
    const source = new EventSource(url);
    this.source = source;
    this.onState("connecting");
    const handle = (event) => {
      if (event.lastEventId) this.lastId = event.lastEventId;
      let envelope;
      try { envelope = JSON.parse(event.data); } catch { return; }
      this.onEvent(envelope);
    };
    for (const type of [...BOOKING_EVENTS, ...CATALOGUE_EVENTS, ...PERSONAL_EVENTS, "presence", "message"]) {
      source.addEventListener(type, handle);
    }
    source.addEventListener("resync", (event) => {
      if (event.lastEventId) this.lastId = event.lastEventId;
      this.onResync(); // events were lost: the snapshot is the truth again
    });
    source.onopen = () => {
      const wasDown = this.attempt > 0;
      this.attempt = 0;
      this.onState("live");
      if (wasDown && !this.lastId) this.onResync(); // nothing to resume from
    };
    source.onerror = () => {
      if (this.source !== source) return;
      this.onState("reconnecting");
      // EventSource retries by itself (with Last-Event-ID); a refused or token-expired
      // stream is CLOSED and is reopened here with a fresh token and our last id.
      if (source.readyState === EventSource.CLOSED) this.retry();
      else this.attempt += 1;
    };
  }

  retry() {
    if (this.closed) return;
    clearTimeout(this.timer);
    const wait = Math.min(30_000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this.open(), wait);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.source?.close();
    this.source = null;
    removeEventListener("pagehide", this.onPageHide);
    this.onState("offline");
  }
}
