// The entrance kiosk: each space's booking now and next in large type, with a check-in button.
// It reads the board once, then applies the location stream's events from their payload (a
// booking starting or ending re-reads the board). Open it as /kiosk?token=<kiosk token>.

import { API, clock, h } from "./core.js";
import { fmt, t, translate } from "./i18n.js";
import { LiveStream } from "./live.js";
import qrcode from "./vendor/qrcode-generator/qrcode.mjs";

const LIVE = ["held", "confirmed", "checked_in"];
const $ = (id) => document.getElementById(id);

const state = {
  token: new URLSearchParams(location.search).get("token") || "",
  board: null,
  location: null,
  cards: new Map(),
  stream: null,
  edgeTimer: null,
  stopped: false,
  presenceTimer: null,
};

class KioskError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
  }
}

async function call(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json", Authorization: `Kiosk ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new KioskError(response.status, data);
  return data;
}

function say(text, kind = "info") {
  $("message").textContent = text;
  $("message").dataset.kind = kind;
}

const zone = () => state.location?.timezone;

function tickClock() {
  const now = new Date(clock.now()).toISOString();
  $("clock").textContent = fmt.time(now, zone(), { note: false });
  $("clock").dateTime = now;
}

// ---------------------------------------------------------------- the board

async function refresh() {
  if (state.stopped) return;
  try {
    const board = await call("/kiosk/now");
    clock.sync(board.at);
    state.board = board;
    if (!state.location) await loadLocation(board.location_id);
    render();
    scheduleEdge();
    if ($("message").dataset.kind === "error") say("");
  } catch (err) {
    if (err.status === 401) stop(t("kiosk.revoked"));
    else say(err instanceof KioskError ? err.message : t("common.network_error"), "error");
  } finally {
    $("board").setAttribute("aria-busy", "false");
  }
}

async function loadLocation(id) {
  try {
    const r = await fetch(`${API}/locations/${id}`, { headers: { Accept: "application/json" } });
    if (r.ok) state.location = await r.json();
  } catch { /* the board still works, in the browser's zone */ }
  if (state.location) {
    $("kiosk-title").textContent = state.location.name;
    document.title = `${state.location.name} · kiosk`;
  }
  tickClock();
}

const earlyMs = () => (state.location?.booking_rules?.check_in_early_minutes ?? 15) * 60_000;

// Nothing is published when a booking merely starts or ends: re-read the board at that edge.
function scheduleEdge() {
  clearTimeout(state.edgeTimer);
  const now = clock.now();
  const edges = state.board.spaces
    .flatMap((s) => [s.current && Date.parse(s.current.end), s.next && Date.parse(s.next.start), s.next && Date.parse(s.next.start) - earlyMs()])
    .filter((x) => x && x > now);
  if (!edges.length) return;
  state.edgeTimer = setTimeout(refresh, Math.min(Math.max(Math.min(...edges) - now + 300, 500), 3_600_000));
}

/** A booking event, applied to its space's card from the payload. */
function apply(envelope) {
  if (!state.board || !envelope.type?.startsWith("booking.")) return;
  const space = state.board.spaces.find((s) => s.space_id === envelope.space_id);
  if (!space) return;
  const d = envelope.data;
  const slot = { booking_id: d.booking_id, status: d.status, start: d.start, end: d.end };
  const now = clock.now();
  const live = LIVE.includes(d.status);
  const current = live && Date.parse(d.start) <= now && now < Date.parse(d.end);
  let lostNext = false;
  if (space.current?.booking_id === d.booking_id && !current) space.current = null;
  if (space.next?.booking_id === d.booking_id) { space.next = null; lostNext = true; }
  if (current) space.current = slot;
  else if (live && Date.parse(d.start) > now && (!space.next || Date.parse(d.start) < Date.parse(space.next.start))) {
    space.next = slot;
    lostNext = false;
  }
  paint(state.cards.get(space.space_id), space);
  scheduleEdge();
  if (lostNext) refresh(); // what comes after it is not in the event
}

function render() {
  const ids = state.board.spaces.map((s) => s.space_id).join();
  if ([...state.cards.keys()].join() !== ids) {
    state.cards.clear();
    $("board").replaceChildren(...state.board.spaces.map((space) => {
      const card = $("card-template").content.firstElementChild.cloneNode(true);
      translate(card);
      card.querySelector(".check-in").addEventListener("click", () => askPin(space.space_id));
      card.querySelector(".pin-form").addEventListener("submit", (e) => { e.preventDefault(); checkIn(space.space_id); });
      state.cards.set(space.space_id, card);
      return card;
    }));
  }
  if (!state.board.spaces.length) $("board").replaceChildren(h("li", { text: t("kiosk.empty") }));
  for (const space of state.board.spaces) paint(state.cards.get(space.space_id), space);
}

function target(space) {
  if (space.current?.status === "confirmed") return space.current;
  if (space.next?.status === "confirmed" && Date.parse(space.next.start) - clock.now() <= earlyMs()) return space.next;
  return null;
}

function paint(card, space) {
  if (!card) return;
  const current = space.current;
  card.dataset.state = current ? current.status : "free";
  card.dataset.space = space.space_id;
  card.querySelector(".card-name").textContent = space.name;
  card.querySelector(".card-meta").textContent = `${t(`type.${space.type}`)} · ${t("kiosk.floor", { n: space.floor })}`;
  card.querySelector(".card-now").textContent = current
    ? t("kiosk.until", { status: t(`state.${current.status}`), time: fmt.time(current.end, zone(), { note: false }) })
    : t("kiosk.free");
  card.querySelector(".card-next").textContent = space.next
    ? `${fmt.time(space.next.start, zone(), { note: false })}–${fmt.time(space.next.end, zone(), { note: false })} · ${t(`state.${space.next.status}`)}`
    : t("kiosk.nothing");
  const booking = target(space);
  const button = card.querySelector(".check-in");
  button.hidden = !booking || !card.querySelector(".pin-form").hidden;
  button.dataset.booking = booking ? booking.booking_id : "";
  button.textContent = booking === space.current ? t("kiosk.check_in") : t("kiosk.check_in_for", { time: booking ? fmt.time(booking.start, zone(), { note: false }) : "" });
  button.setAttribute("aria-label", `${button.textContent}: ${space.name}`);
}

/** Check-in at the kiosk needs the PIN shown with the member's booking (proof of presence). */
function askPin(spaceId) {
  const card = state.cards.get(spaceId);
  const form = card.querySelector(".pin-form");
  const input = form.querySelector(".pin");
  const id = `pin-${spaceId}`;
  input.id = id;
  form.querySelector(".pin-label").setAttribute("for", id);
  form.querySelector(".pin-label").textContent = t("kiosk.pin");
  form.querySelector(".check-in-submit").textContent = t("kiosk.check_in");
  form.hidden = false;
  card.querySelector(".check-in").hidden = true;
  input.value = "";
  input.focus();
}

async function checkIn(spaceId) {
  const card = state.cards.get(spaceId);
  const button = card.querySelector(".check-in");
  const form = card.querySelector(".pin-form");
  const message = card.querySelector(".card-message");
  const bookingId = Number(button.dataset.booking);
  if (!bookingId) return;
  message.textContent = t("kiosk.checking_in");
  message.dataset.kind = "info";
  try {
    const pin = form.querySelector(".pin").value.trim();
    await call("/kiosk/check-in", { method: "POST", body: { booking_id: bookingId, pin } });
    form.hidden = true;
    message.textContent = t("kiosk.welcome");
    message.dataset.kind = "success";
  } catch (err) {
    if (err.status === 401) { stop(t("kiosk.revoked")); return; }
    message.textContent = err.message;
    message.dataset.kind = "error";
  } finally {
    setTimeout(() => { if (message.dataset.kind !== "error") message.textContent = ""; }, 10_000);
  }
}

/** The location's rotating presence code (digits and a QR of the check-in link), renewed
 * when it rotates. */
async function showPresence() {
  clearTimeout(state.presenceTimer);
  if (state.stopped) return;
  try {
    const p = await call("/kiosk/presence");
    const qr = qrcode(0, "M");
    qr.addData(new URL(p.check_in_url, location.origin).href);
    qr.make();
    $("presence-qr").src = qr.createDataURL(5, 0);
    $("presence-qr").alt = t("kiosk.presence_qr");
    $("presence-code").textContent = p.code;
    $("presence").hidden = false;
    state.presenceTimer = setTimeout(showPresence, Math.max(Date.parse(p.rotates_at) - clock.now(), 1000));
  } catch (err) {
    if (err.status === 401) stop(t("kiosk.revoked"));
    else state.presenceTimer = setTimeout(showPresence, 10_000);
  }
}

function setLive(status) {
  $("live").dataset.state = status;
  $("live").querySelector(".live-text").textContent = t(`live.${status}`);
}

function stop(text) {
  state.stopped = true;
  state.stream?.close();
  clearTimeout(state.edgeTimer);
  clearTimeout(state.presenceTimer);
  $("presence").hidden = true;
  setLive("offline");
  $("board").replaceChildren();
  state.cards.clear();
  say(text, "error");
}

async function start() {
  translate(document);
  tickClock();
  setInterval(tickClock, 15_000); // the clock only; the board is never polled
  if (!state.token) { stop(t("kiosk.no_token")); return; }
  for (let attempt = 0; !state.board && !state.stopped; attempt++) {
    if (attempt) await new Promise((r) => { setTimeout(r, Math.min(30_000, 2000 * attempt)); });
    await refresh();
  }
  if (state.stopped) return;
  showPresence();
  state.stream = new LiveStream(`/streams/locations/${state.board.location_id}`, {
    onEvent: apply, onResync: refresh, onState: setLive,
  });
  state.stream.open();
}

start();
