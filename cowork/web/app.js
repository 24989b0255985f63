// The live floor map: one SVG per floor, every space coloured by its status now, kept current
// by the location's event stream. Members sign in to book a free space's next free hour.

const API = "/api/v1";
const SVG_NS = "http://www.w3.org/2000/svg";
const REFRESH_DEBOUNCE_MS = 200;
const BOOKING_MINUTES = 60;
const SEARCH_DAYS = 7;
const STATUS_LABEL = { free: "Free", held: "Held", booked: "Booked", occupied: "Occupied" };
const EVENT_TYPES = [
  "booking.held", "booking.confirmed", "booking.expiring", "booking.expired",
  "booking.cancelled", "booking.refunded", "booking.no_show", "booking.rescheduled",
  "booking.checked_in", "booking.completed", "presence",
];

const $ = (id) => document.getElementById(id);

const state = {
  locations: new Map(),   // id -> location list item
  rules: new Map(),       // location id -> booking_rules
  locationId: null,
  floor: null,            // last /floor snapshot
  clockSkewMs: 0,         // server time - local time, from the snapshot's `at`
  selectedId: null,
  stream: null,
  refreshTimer: null,
  deadlineTimer: null,
  fetchSeq: 0,
  pendingKeys: new Map(), // request body -> Idempotency-Key, kept until the server answers
};

// ---------------------------------------------------------------- HTTP

class ProblemError extends Error {
  constructor(status, problem) {
    super(problemText(status, problem));
    this.status = status;
    this.problem = problem;
  }
}

function problemText(status, problem) {
  if (!problem) return `Request failed (HTTP ${status}).`;
  let text = problem.detail || problem.title || `Request failed (HTTP ${status}).`;
  if (Array.isArray(problem.errors) && problem.errors.length) {
    text += " " + problem.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
  }
  return text;
}

async function api(path, { method = "GET", body, headers = {}, auth = false } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  if (auth) init.headers.Authorization = `Bearer ${session.access}`;
  let response = await fetch(API + path, init);
  if (response.status === 401 && auth && (await session.refresh())) {
    init.headers.Authorization = `Bearer ${session.access}`;
    response = await fetch(API + path, init);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ProblemError(response.status, data);
  return data;
}

// ---------------------------------------------------------------- session

const session = {
  get access() { return sessionStorage.getItem("cowork.access"); },
  get email() { return sessionStorage.getItem("cowork.email"); },

  save(tokens, email) {
    sessionStorage.setItem("cowork.access", tokens.access_token);
    sessionStorage.setItem("cowork.refresh", tokens.refresh_token);
    if (email) sessionStorage.setItem("cowork.email", email);
  },

  clear() {
    for (const key of ["cowork.access", "cowork.refresh", "cowork.email"]) {
      sessionStorage.removeItem(key);
    }
  },

  // One refresh at a time: refresh tokens rotate and a spent one revokes the login.
  refreshing: null,
  refresh() {
    const token = sessionStorage.getItem("cowork.refresh");
    if (!token) return Promise.resolve(false);
    this.refreshing ??= fetch(`${API}/auth/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ refresh_token: token }),
    })
      .then(async (r) => {
        if (!r.ok) throw new Error("refresh refused");
        this.save(await r.json());
        return true;
      })
      .catch(() => {
        this.clear();
        showAccount();
        return false;
      })
      .finally(() => { this.refreshing = null; });
    return this.refreshing;
  },
};

function showAccount() {
  const signedIn = Boolean(session.access);
  $("login-form").hidden = signedIn;
  $("account").hidden = !signedIn;
  $("account-email").textContent = session.email || "";
  renderDetails();
}

async function onLogin(event) {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  try {
    const tokens = await api("/auth/login", { method: "POST", body: { email, password } });
    session.save(tokens, email);
    $("password").value = "";
    say(`Signed in as ${email}.`);
    showAccount();
    $("logout").focus();
  } catch (err) {
    say(errorText(err), "error");
  }
}

async function onLogout() {
  const token = sessionStorage.getItem("cowork.refresh");
  session.clear();
  showAccount();
  say("Signed out.");
  $("email").focus();
  if (token) {
    await api("/auth/logout", { method: "POST", body: { refresh_token: token } }).catch(() => {});
  }
}

// ---------------------------------------------------------------- messages and time

function say(text, kind = "info") {
  const el = $("message");
  el.textContent = text;
  el.dataset.kind = kind;
}

function errorText(err) {
  return err instanceof ProblemError ? err.message : "Network error: check the connection and try again.";
}

function timeZone() {
  return state.locations.get(state.locationId)?.timezone;
}

function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date(Date.now() + state.clockSkewMs);
  const options = { hour: "2-digit", minute: "2-digit", timeZone: timeZone() };
  const sameDay = date.toLocaleDateString(undefined, { timeZone: timeZone() })
    === today.toLocaleDateString(undefined, { timeZone: timeZone() });
  if (!sameDay) Object.assign(options, { weekday: "short", day: "numeric", month: "short" });
  return date.toLocaleString(undefined, options);
}

function statusText(space) {
  const label = STATUS_LABEL[space.status] || space.status;
  return space.until && space.status !== "free" ? `${label} until ${formatTime(space.until)}` : label;
}

// ---------------------------------------------------------------- locations

async function loadLocations() {
  const select = $("location");
  try {
    let cursor = null;
    do {
      const query = new URLSearchParams({ limit: "200" });
      if (cursor) query.set("cursor", cursor);
      const page = await api(`/locations?${query}`);
      for (const loc of page.items) state.locations.set(loc.id, loc);
      cursor = page.next_cursor;
    } while (cursor && state.locations.size < 1000);
  } catch (err) {
    select.replaceChildren(new Option("Locations unavailable", ""));
    say(errorText(err), "error");
    return;
  }
  if (!state.locations.size) {
    select.replaceChildren(new Option("No locations yet", ""));
    return;
  }
  const sorted = [...state.locations.values()].sort(
    (a, b) => a.city.localeCompare(b.city) || a.name.localeCompare(b.name),
  );
  select.replaceChildren(...sorted.map((loc) => new Option(`${loc.name} — ${loc.city}`, loc.id)));
  select.disabled = false;
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("location"));
  select.value = String(state.locations.has(wanted) ? wanted : sorted[0].id);
  selectLocation(Number(select.value));
}

function selectLocation(id) {
  state.locationId = id;
  state.floor = null;
  state.selectedId = null;
  history.replaceState(null, "", `#location=${id}`);
  $("floors").replaceChildren();
  renderDetails();
  say("");
  connect();
  refreshNow();
}

// ---------------------------------------------------------------- the floor snapshot

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refreshNow, REFRESH_DEBOUNCE_MS);
}

async function refreshNow() {
  clearTimeout(state.refreshTimer);
  const id = state.locationId;
  const seq = ++state.fetchSeq;
  $("floors").setAttribute("aria-busy", "true");
  try {
    const snapshot = await api(`/locations/${id}/floor`);
    if (seq !== state.fetchSeq || id !== state.locationId) return; // a newer fetch won
    state.floor = snapshot;
    state.clockSkewMs = Date.parse(snapshot.at) - Date.now();
    renderFloors();
    renderDetails();
    scheduleDeadline();
    $("updated").textContent = formatTime(snapshot.at);
    $("updated").dateTime = snapshot.at;
  } catch (err) {
    if (seq === state.fetchSeq) say(errorText(err), "error");
  } finally {
    if (seq === state.fetchSeq) $("floors").setAttribute("aria-busy", "false");
  }
}

// A booking starting or ending changes a status without any event: refetch at the next edge.
function scheduleDeadline() {
  clearTimeout(state.deadlineTimer);
  const now = Date.now() + state.clockSkewMs;
  const edges = state.floor.spaces
    .flatMap((s) => [s.until, s.next_start])
    .filter(Boolean)
    .map(Date.parse)
    .filter((t) => t > now);
  if (!edges.length) return;
  const wait = Math.min(Math.max(Math.min(...edges) - now + 500, 1000), 3_600_000);
  state.deadlineTimer = setTimeout(refreshNow, wait);
}

// ---------------------------------------------------------------- drawing

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  return el;
}

function floorsOf(snapshot) {
  const floors = new Map(snapshot.floors.map((f) => [f.level, { ...f }]));
  for (const s of snapshot.spaces) {
    // A space on a floor the location does not describe still gets drawn.
    const f = floors.get(s.floor) ?? { level: s.floor, name: `Floor ${s.floor}`, width: 0, height: 0 };
    f.width = Math.max(f.width, s.x + s.width);
    f.height = Math.max(f.height, s.y + s.height);
    floors.set(s.floor, f);
  }
  return [...floors.values()].sort((a, b) => a.level - b.level);
}

function renderFloors() {
  const container = $("floors");
  const snapshot = state.floor;
  const drawn = [...container.querySelectorAll("[data-space]")].map((g) => g.dataset.space);
  const ids = snapshot.spaces.map((s) => String(s.id));
  if (drawn.join() !== ids.join()) drawFloors(container, snapshot);
  for (const space of snapshot.spaces) paintSpace(space);
  if (!snapshot.spaces.length) {
    const empty = document.createElement("p");
    empty.textContent = "This location has no spaces yet.";
    container.replaceChildren(empty);
  }
}

function drawFloors(container, snapshot) {
  const focused = document.activeElement?.dataset?.space;
  container.replaceChildren();
  for (const floor of floorsOf(snapshot)) {
    const spaces = snapshot.spaces.filter((s) => s.floor === floor.level);
    const section = document.createElement("section");
    section.className = "floor";
    const heading = document.createElement("h2");
    heading.id = `floor-${floor.level}`;
    heading.textContent = floor.name;
    const plan = svg("svg", {
      viewBox: `0 0 ${floor.width} ${floor.height}`,
      role: "group",
      "aria-labelledby": heading.id,
      class: "plan",
    });
    plan.append(svg("rect", { class: "outline", x: 0, y: 0, width: floor.width, height: floor.height }));
    for (const space of spaces) plan.append(drawSpace(space));
    section.append(heading, plan);
    container.append(section);
  }
  if (focused) container.querySelector(`[data-space="${focused}"]`)?.focus();
}

function drawSpace(space) {
  const g = svg("g", { class: "space", tabindex: 0, role: "button", "data-space": space.id });
  const title = svg("title");
  const rect = svg("rect", {
    x: space.x, y: space.y, width: space.width, height: space.height, rx: 0.6,
  });
  const size = Math.max(Math.min(space.height / 4, (space.width / Math.max(space.name.length, 6)) * 1.6), 0.8);
  const cx = space.x + space.width / 2;
  const name = svg("text", { x: cx, y: space.y + space.height / 2, "font-size": size, class: "name" });
  name.textContent = space.name;
  const status = svg("text", {
    x: cx, y: space.y + space.height / 2 + size * 1.2, "font-size": size * 0.8, class: "status",
  });
  g.append(title, rect, name, status);
  g.addEventListener("click", () => select(space.id));
  g.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      select(space.id);
    }
  });
  return g;
}

function paintSpace(space) {
  const g = document.querySelector(`[data-space="${space.id}"]`);
  if (!g) return;
  g.setAttribute("class", `space ${space.status}${space.id === state.selectedId ? " selected" : ""}`);
  const summary = `${space.name}, ${space.type.replaceAll("_", " ")} for ${space.capacity}: ${statusText(space)}`;
  g.querySelector("title").textContent = summary;
  g.setAttribute("aria-label", summary);
  g.querySelector(".status").textContent = STATUS_LABEL[space.status] || space.status;
}

// ---------------------------------------------------------------- details and booking

function selectedSpace() {
  return state.floor?.spaces.find((s) => s.id === state.selectedId) ?? null;
}

function select(id) {
  state.selectedId = id;
  for (const space of state.floor.spaces) paintSpace(space);
  renderDetails();
  $("details").hidden = false;
  ($("book").disabled ? $("details-close") : $("book")).focus();
}

function closeDetails() {
  const id = state.selectedId;
  state.selectedId = null;
  $("details").hidden = true;
  if (state.floor) for (const space of state.floor.spaces) paintSpace(space);
  document.querySelector(`[data-space="${id}"]`)?.focus();
}

function renderDetails() {
  const space = selectedSpace();
  if (!space) {
    $("details").hidden = true;
    return;
  }
  $("details-title").textContent = space.name;
  $("details-type").textContent = space.type.replaceAll("_", " ");
  $("details-capacity").textContent = String(space.capacity);
  $("details-status").textContent = statusText(space);
  $("details-next").textContent = space.next_start ? formatTime(space.next_start) : "none";
  const signedIn = Boolean(session.access);
  $("book").disabled = !signedIn || space.status !== "free";
  $("book-hint").textContent = !signedIn
    ? "Sign in to book this space."
    : space.status === "free"
      ? "Books the first free hour from now (confirmed at once if the space is free of charge)."
      : "This space is not free right now.";
}

function ceilToGrid(ms, minutes) {
  const step = minutes * 60_000;
  return Math.ceil(ms / step) * step;
}

async function bookingRules(locationId) {
  if (!state.rules.has(locationId)) {
    const detail = await api(`/locations/${locationId}`);
    state.rules.set(locationId, detail.booking_rules);
  }
  return state.rules.get(locationId);
}

// The first slot of about an hour, on the location's grid, inside the space's free time.
async function nextFreeHour(space) {
  const rules = await bookingRules(state.locationId);
  const grid = rules.granularity_minutes;
  const minutes = Math.ceil(Math.max(BOOKING_MINUTES, rules.min_minutes) / grid) * grid;
  const from = ceilToGrid(Date.now() + state.clockSkewMs, grid);
  const query = new URLSearchParams({
    from: new Date(from).toISOString(),
    to: new Date(from + SEARCH_DAYS * 86_400_000).toISOString(),
  });
  const availability = await api(`/spaces/${space.id}/availability?${query}`);
  for (const free of availability.free) {
    const start = ceilToGrid(Math.max(Date.parse(free.start), from), grid);
    const end = start + minutes * 60_000;
    if (end <= Date.parse(free.end)) {
      return { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
    }
  }
  return null;
}

async function onBook() {
  const space = selectedSpace();
  if (!space || !session.access) return;
  const button = $("book");
  button.disabled = true;
  say(`Looking for the next free hour of ${space.name}…`);
  try {
    const slot = await nextFreeHour(space);
    if (!slot) {
      say(`${space.name} has no free hour in the next ${SEARCH_DAYS} days.`, "error");
      return;
    }
    const body = JSON.stringify(slot);
    const path = `/spaces/${space.id}/bookings`;
    // Retrying the same request after a lost answer reuses its key: the server replays it.
    const pendingKey = `${path} ${body}`;
    if (!state.pendingKeys.has(pendingKey)) state.pendingKeys.set(pendingKey, crypto.randomUUID());
    let booking;
    try {
      booking = await api(path, {
        method: "POST", body, auth: true,
        headers: { "Idempotency-Key": state.pendingKeys.get(pendingKey) },
      });
    } catch (err) {
      if (err instanceof ProblemError && err.status < 500) state.pendingKeys.delete(pendingKey);
      throw err;
    }
    state.pendingKeys.delete(pendingKey);
    const when = `${formatTime(booking.start)}–${formatTime(booking.end)}`;
    say(booking.status === "held"
      ? `${space.name} held for you ${when} until ${formatTime(booking.expires_at)}: pay to confirm it (booking #${booking.id}).`
      : `${space.name} booked ${when} (booking #${booking.id}, ${booking.status}).`, "success");
    scheduleRefresh();
  } catch (err) {
    if (err instanceof ProblemError && err.status === 401) {
      session.clear();
      showAccount();
      say("Your session ended: sign in again to book.", "error");
    } else {
      say(errorText(err), "error");
    }
  } finally {
    renderDetails();
  }
}

// ---------------------------------------------------------------- the live stream

function setLive(status, text) {
  $("live").dataset.state = status;
  $("live").querySelector(".live-text").textContent = text;
}

// EventSource reconnects by itself and sends Last-Event-ID; only a stream it gave up on
// (an HTTP error answer) is reopened here, resuming from the last id seen.
function connect(lastEventId = null, attempt = 0) {
  state.stream?.close();
  const id = state.locationId;
  const url = new URL(`${API}/streams/locations/${id}`, location.origin);
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
  for (const type of EVENT_TYPES) stream.addEventListener(type, onEvent);
  stream.addEventListener("message", onEvent);
  stream.addEventListener("resync", (event) => {
    if (event.lastEventId) lastId = event.lastEventId;
    refreshNow(); // events were lost: the snapshot is the truth
  });
  stream.onopen = () => {
    setLive("live", "live");
    attempt = 0;
    if (wasDown) scheduleRefresh(); // statuses may have moved on with time meanwhile
    wasDown = false;
  };
  stream.onerror = () => {
    if (state.stream !== stream) return;
    wasDown = true;
    if (stream.readyState === EventSource.CLOSED) {
      setLive("reconnecting", "reconnecting…");
      const wait = Math.min(30_000, 1000 * 2 ** attempt);
      setTimeout(() => {
        if (state.stream === stream && state.locationId === id) connect(lastId, attempt + 1);
      }, wait);
    } else {
      setLive("reconnecting", "reconnecting…");
    }
  };
}

// ---------------------------------------------------------------- start

function start() {
  $("location").addEventListener("change", (e) => selectLocation(Number(e.target.value)));
  $("location-form").addEventListener("submit", (e) => e.preventDefault());
  $("login-form").addEventListener("submit", onLogin);
  $("logout").addEventListener("click", onLogout);
  $("book").addEventListener("click", onBook);
  $("details-close").addEventListener("click", closeDetails);
  $("details").addEventListener("keydown", (e) => { if (e.key === "Escape") closeDetails(); });
  showAccount();
  loadLocations();
}

start();
