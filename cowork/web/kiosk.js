// The entrance kiosk: each space's booking now and next, in large type, with a check-in button.
// It reads the board once, then refetches only when the location's stream says something
// changed (or when a booking starts or ends). Open it as /kiosk?token=<kiosk token>.

const API = "/api/v1";
const REFRESH_DEBOUNCE_MS = 200;
const EVENT_TYPES = [
  "booking.held", "booking.confirmed", "booking.expiring", "booking.expired",
  "booking.cancelled", "booking.refunded", "booking.no_show", "booking.rescheduled",
  "booking.checked_in", "booking.completed", "presence",
];
const NOW_LABEL = { held: "Held", confirmed: "Booked", checked_in: "In use" };

const $ = (id) => document.getElementById(id);

const state = {
  token: new URLSearchParams(location.search).get("token") || "",
  board: null,
  location: null,        // public location detail: name, timezone, booking_rules
  clockSkewMs: 0,
  cards: new Map(),      // space id -> <li>
  stream: null,
  refreshTimer: null,
  deadlineTimer: null,
  fetchSeq: 0,
  checkedInStarts: [],   // starts of bookings checked in early: the board lists them nowhere
  stopped: false,
};

class ProblemError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `Request failed (HTTP ${status}).`);
    this.status = status;
  }
}

async function api(path, { method = "GET", body, kiosk = false } = {}) {
  const headers = { Accept: "application/json" };
  if (kiosk) headers.Authorization = `Kiosk ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ProblemError(response.status, data);
  return data;
}

function errorText(err) {
  return err instanceof ProblemError ? err.message : "Network error: retrying when the stream is back.";
}

function say(text, kind = "info") {
  $("message").textContent = text;
  $("message").dataset.kind = kind;
}

function serverNow() {
  return Date.now() + state.clockSkewMs;
}

function formatTime(iso) {
  const options = { hour: "2-digit", minute: "2-digit", timeZone: state.location?.timezone };
  const date = new Date(iso);
  const sameDay = date.toLocaleDateString(undefined, { timeZone: state.location?.timezone })
    === new Date(serverNow()).toLocaleDateString(undefined, { timeZone: state.location?.timezone });
  if (!sameDay) Object.assign(options, { weekday: "short" });
  return date.toLocaleString(undefined, options);
}

function tickClock() {
  const now = new Date(serverNow());
  $("clock").textContent = now.toLocaleTimeString(undefined, {
    hour: "2-digit", minute: "2-digit", timeZone: state.location?.timezone,
  });
  $("clock").dateTime = now.toISOString();
}

// ---------------------------------------------------------------- the board

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refreshNow, REFRESH_DEBOUNCE_MS);
}

async function refreshNow() {
  clearTimeout(state.refreshTimer);
  if (state.stopped) return;
  const seq = ++state.fetchSeq;
  try {
    const board = await api("/kiosk/now", { kiosk: true });
    if (seq !== state.fetchSeq) return;
    state.board = board;
    state.clockSkewMs = Date.parse(board.at) - Date.now();
    if (!state.location) await loadLocation(board.location_id);
    render();
    scheduleDeadline();
    if ($("message").dataset.kind === "error") say("");
  } catch (err) {
    if (err instanceof ProblemError && err.status === 401) {
      stop("This kiosk's token is missing, invalid or revoked. Ask staff for a new kiosk link.");
    } else {
      say(errorText(err), "error");
    }
  } finally {
    $("board").setAttribute("aria-busy", "false");
  }
}

async function loadLocation(id) {
  try {
    state.location = await api(`/locations/${id}`);
    $("kiosk-title").textContent = state.location.name;
    document.title = `${state.location.name} · kiosk`;
  } catch {
    state.location = null; // the board still works, in the browser's time zone
  }
  tickClock();
}

function earlyMs() {
  return (state.location?.booking_rules?.check_in_early_minutes ?? 15) * 60_000;
}

// Nothing is published when a booking merely starts or ends: refetch at the next such edge.
function scheduleDeadline() {
  clearTimeout(state.deadlineTimer);
  const now = serverNow();
  state.checkedInStarts = state.checkedInStarts.filter((t) => Date.parse(t) > now);
  const edges = state.board.spaces
    .flatMap((s) => [s.current?.end, s.next?.start, s.next && Date.parse(s.next.start) - earlyMs()])
    .concat(state.checkedInStarts)
    .filter(Boolean)
    .map((t) => (typeof t === "number" ? t : Date.parse(t)))
    .filter((t) => t > now);
  if (!edges.length) return;
  const wait = Math.min(Math.max(Math.min(...edges) - now + 500, 1000), 3_600_000);
  state.deadlineTimer = setTimeout(refreshNow, wait);
}

// The booking a member could check in to now: the current one, or the next one within the
// location's early check-in window. The server has the last word.
function checkInTarget(space) {
  if (space.current?.status === "confirmed") return space.current;
  if (space.next?.status === "confirmed" && Date.parse(space.next.start) - serverNow() <= earlyMs()) {
    return space.next;
  }
  return null;
}

function render() {
  const board = $("board");
  const ids = state.board.spaces.map((s) => s.space_id).join();
  if ([...state.cards.keys()].join() !== ids) {
    state.cards.clear();
    board.replaceChildren(...state.board.spaces.map((space) => {
      const card = $("card-template").content.firstElementChild.cloneNode(true);
      card.querySelector(".check-in").addEventListener("click", () => checkIn(space.space_id));
      state.cards.set(space.space_id, card);
      return card;
    }));
  }
  if (!state.board.spaces.length) {
    const empty = document.createElement("li");
    empty.textContent = "No spaces at this location yet.";
    board.replaceChildren(empty);
  }
  for (const space of state.board.spaces) paint(state.cards.get(space.space_id), space);
}

function paint(card, space) {
  const current = space.current;
  card.dataset.state = current ? current.status : "free";
  card.querySelector(".card-name").textContent = space.name;
  card.querySelector(".card-meta").textContent =
    `${space.type.replaceAll("_", " ")} · floor ${space.floor}`;
  card.querySelector(".card-now").textContent = current
    ? `${NOW_LABEL[current.status] || current.status} until ${formatTime(current.end)}`
    : "Free";
  card.querySelector(".card-next").textContent = space.next
    ? `${formatTime(space.next.start)}–${formatTime(space.next.end)}`
    : "Nothing booked";
  const target = checkInTarget(space);
  const button = card.querySelector(".check-in");
  button.hidden = !target;
  button.dataset.booking = target ? target.booking_id : "";
  button.textContent = target === space.current
    ? "Check in"
    : `Check in for ${target ? formatTime(target.start) : ""}`;
  button.setAttribute("aria-label", `${button.textContent}: ${space.name}`);
}

async function checkIn(spaceId) {
  const card = state.cards.get(spaceId);
  const button = card.querySelector(".check-in");
  const message = card.querySelector(".card-message");
  const bookingId = Number(button.dataset.booking);
  if (!bookingId) return;
  button.disabled = true;
  message.textContent = "Checking in…";
  try {
    const { booking } = await api("/kiosk/check-in", {
      method: "POST", body: { booking_id: bookingId }, kiosk: true,
    });
    if (booking?.start) state.checkedInStarts.push(booking.start);
    message.textContent = "Checked in. Welcome!";
    message.dataset.kind = "success";
    scheduleRefresh();
  } catch (err) {
    if (err instanceof ProblemError && err.status === 401) {
      stop("This kiosk's token was revoked. Ask staff for a new kiosk link.");
      return;
    }
    message.textContent = errorText(err);
    message.dataset.kind = "error";
  } finally {
    button.disabled = false;
    setTimeout(() => { message.textContent = ""; }, 10_000);
  }
}

// ---------------------------------------------------------------- the live stream

function setLive(status, text) {
  $("live").dataset.state = status;
  $("live").querySelector(".live-text").textContent = text;
}

// EventSource resumes by itself with Last-Event-ID; a stream it gave up on is reopened here.
function connect(lastEventId = null, attempt = 0) {
  if (state.stopped) return;
  const url = new URL(`${API}/streams/locations/${state.board.location_id}`, location.origin);
  if (lastEventId) url.searchParams.set("last_event_id", lastEventId);
  const stream = new EventSource(url);
  state.stream = stream;
  let lastId = lastEventId;
  let wasDown = attempt > 0;
  setLive("connecting", "connecting…");

  const onEvent = (event) => {
    if (event.lastEventId) lastId = event.lastEventId;
    scheduleRefresh();
  };
  for (const type of [...EVENT_TYPES, "message", "resync"]) stream.addEventListener(type, onEvent);
  stream.onopen = () => {
    setLive("live", "live");
    attempt = 0;
    if (wasDown) scheduleRefresh();
    wasDown = false;
  };
  stream.onerror = () => {
    if (state.stream !== stream) return;
    wasDown = true;
    setLive("reconnecting", "reconnecting…");
    if (stream.readyState === EventSource.CLOSED) {
      const wait = Math.min(30_000, 1000 * 2 ** attempt);
      setTimeout(() => { if (state.stream === stream) connect(lastId, attempt + 1); }, wait);
    }
  };
}

function stop(text) {
  state.stopped = true;
  state.stream?.close();
  state.stream = null;
  clearTimeout(state.deadlineTimer);
  setLive("offline", "offline");
  $("board").replaceChildren();
  state.cards.clear();
  say(text, "error");
}

// ---------------------------------------------------------------- start

async function start() {
  tickClock();
  setInterval(tickClock, 15_000); // the clock only; the board is never polled
  if (!state.token) {
    stop("No kiosk token: open this page as /kiosk?token=<kiosk token>.");
    return;
  }
  // Until the first board arrives (server restarting, network down), try again now and then.
  for (let attempt = 0; !state.board && !state.stopped; attempt++) {
    if (attempt) await new Promise((r) => setTimeout(r, Math.min(30_000, 2000 * attempt)));
    await refreshNow();
  }
  connect();
}

start();
