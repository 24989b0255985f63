// `/` Find and book: search locations, see a location's live floor at any instant of a day,
// pick a space, choose a slot on its timeline, see the price, hold and pay (or repeat it
// weekly, or wait for a taken slot: my waitlist and its offers are shown here too).

import { $, allPages, api, clock, h, ProblemError } from "./core.js";
import { FloorMap } from "./floor.js";
import { addDays, fmt, hhmm, localDate, localInstant, localMinutes, t, translate } from "./i18n.js";
import { LiveStream } from "./live.js";
import { SpacePanel } from "./spacepanel.js";
import { setLive, startShell } from "./shell.js";
import { showWaitlist, waitlist } from "./waitlist.js";

const TYPES = ["desk", "meeting_room", "private_office", "phone_booth", "event_space"];
const LENGTHS = [60, 120, 180, 240, 480];

const state = {
  locations: new Map(),
  detail: null,          // the chosen location's public detail (zone, rules, hours)
  instant: null,         // minutes past local midnight of the shown instant; null = now
  stream: null,
  edgeTimer: null,
  loadSeq: 0,
};

const map = new FloorMap($("floors"), {
  onSelect: (space) => panel.open(space),
  zone: () => state.detail?.timezone,
});
const panel = new SpacePanel($("details"), {
  zone: () => state.detail?.timezone,
  detail: () => state.detail,
  wanted: () => ({ date: $("date").value, time: Number($("time").value), length: Number($("length").value) }),
  onClose: (id) => { map.select(null); document.querySelector(`[data-space="${id}"]`)?.focus(); },
});

function say(text, kind = "info") {
  $("message").textContent = text;
  $("message").dataset.kind = kind;
}

function errorText(err) {
  return err instanceof ProblemError ? err.message : t("common.network_error");
}

// ---------------------------------------------------------------- search

function fillForm() {
  const type = $("type");
  type.replaceChildren(h("option", { value: "", text: t("find.any_type") }),
    ...TYPES.map((v) => h("option", { value: v, text: t(`type.${v}`) })));
  const time = $("time");
  const chosenTime = time.value || "540";
  time.replaceChildren(...Array.from({ length: 96 }, (_, i) => h("option", { value: i * 15, text: hhmm(i * 15) })));
  time.value = chosenTime;
  const length = $("length");
  const chosenLength = length.value || "120";
  length.replaceChildren(...LENGTHS.map((m) => h("option", { value: m, text: fmt.duration(m) })));
  length.value = chosenLength;
  if (!$("date").value) $("date").value = addDays(localDate(clock.now(), undefined), 1);
}

async function loadAmenities() {
  try {
    const items = await allPages("/amenities");
    $("amenities").replaceChildren(...items.map((a) => h("label", { class: "chip" },
      h("input", { type: "checkbox", name: "amenity", value: a.code }), ` ${a.name}`)));
  } catch (err) { say(errorText(err), "error"); }
}

function searchParams(zone) {
  const params = {};
  const form = new FormData($("search"));
  if (form.get("type")) params.type = form.get("type");
  if (form.get("capacity")) params.min_capacity = form.get("capacity");
  const amenities = form.getAll("amenity");
  if (amenities.length) params.amenities = amenities.join(",");
  if ($("free-only").checked && zone) {
    const start = localInstant($("date").value, Number($("time").value), zone);
    params.from = new Date(start).toISOString();
    params.to = new Date(start + Number($("length").value) * 60_000).toISOString();
  }
  return params;
}

async function search(event) {
  event?.preventDefault();
  const list = $("locations");
  list.setAttribute("aria-busy", "true");
  try {
    // Cities share a zone: the wanted time is read in the zone of the city's locations.
    const zone = state.detail?.timezone ?? [...state.locations.values()][0]?.timezone;
    const params = { ...searchParams(zone) };
    if ($("city").value) params.city = $("city").value;
    const found = await allPages("/locations", params);
    renderLocations(found);
    if (event) say(t("find.found", { n: found.length }));
    const keep = found.find((l) => l.id === state.detail?.id);
    const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("location"));
    const pick = keep ?? found.find((l) => l.id === wanted) ?? found[0];
    if (pick && pick.id !== state.detail?.id) await selectLocation(pick.id);
    else if (pick) await highlight();
  } catch (err) {
    say(errorText(err), "error");
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function renderLocations(found) {
  for (const loc of found) state.locations.set(loc.id, loc);
  const cities = [...new Set([...state.locations.values()].map((l) => l.city))].sort();
  const city = $("city");
  const chosen = city.value;
  city.replaceChildren(h("option", { value: "", text: t("find.any_city") }), ...cities.map((c) => h("option", { value: c, text: c })));
  city.value = chosen;
  $("locations").replaceChildren(...(found.length ? found.map((loc) => h("li", {},
    h("button", {
      type: "button", class: "location-card", "data-location": loc.id,
      "aria-pressed": String(loc.id === state.detail?.id),
      onclick: () => selectLocation(loc.id),
    },
    h("strong", { text: loc.name }),
    h("span", { text: `${loc.city} · ${loc.address}` }),
    h("span", { class: "muted", text: t("find.matching", { n: loc.matching_spaces ?? 0 }) })))) : [h("li", { text: t("find.none") })]));
}

// ---------------------------------------------------------------- one location

async function selectLocation(id) {
  try {
    state.detail = await api(`/locations/${id}`);
  } catch (err) {
    say(errorText(err), "error");
    return;
  }
  // `#location=3&at=2026-12-01T10:30:00Z` opens the floor at that instant (a link to share).
  const at = Date.parse(new URLSearchParams(location.hash.slice(1)).get("at") ?? "");
  if (!Number.isNaN(at)) {
    $("date").value = localDate(at, state.detail.timezone);
    state.instant = Math.floor(localMinutes(at, state.detail.timezone) / 15) * 15;
  }
  history.replaceState(null, "", `#location=${id}`);
  for (const b of document.querySelectorAll("[data-location]")) b.setAttribute("aria-pressed", String(Number(b.dataset.location) === id));
  $("place").hidden = false;
  renderPlaceHead();
  panel.close(false);
  connect(id);
  await loadFloor();
}

function renderPlaceHead() {
  const d = state.detail;
  $("place-title").textContent = d.name;
  $("place-meta").textContent = `${d.address} · ${t("find.zone", { zone: d.timezone })}`;
}

function shownInstant() {
  if (state.instant === null) return clock.now();
  return localInstant($("date").value, state.instant, state.detail.timezone);
}

function renderInstant() {
  const zone = state.detail.timezone;
  const at = shownInstant();
  $("instant").value = String(Math.floor(localMinutes(at, zone) / 15));
  const text = `${fmt.date(new Date(at).toISOString(), zone)} ${fmt.time(new Date(at).toISOString(), zone)}`;
  $("instant-text").textContent = state.instant === null ? `${t("find.now")} · ${text}` : text;
  $("instant").setAttribute("aria-valuetext", $("instant-text").textContent);
}

async function loadFloor() {
  const id = state.detail.id;
  const seq = ++state.loadSeq;
  const at = shownInstant();
  $("floors").setAttribute("aria-busy", "true");
  try {
    const query = state.instant === null ? "" : `?at=${encodeURIComponent(new Date(at).toISOString())}`;
    const snapshot = await api(`/locations/${id}/floor${query}`);
    if (seq !== state.loadSeq) return; // a newer instant or location won
    if (state.instant === null) clock.sync(snapshot.at);
    map.show(snapshot, Date.parse(snapshot.at));
    renderInstant();
    scheduleEdge();
    await highlight();
  } catch (err) {
    if (seq === state.loadSeq) say(errorText(err), "error");
  } finally {
    if (seq === state.loadSeq) $("floors").setAttribute("aria-busy", "false");
  }
}

/** Dim the spaces that do not match the search (type, seats, amenities, free for the time). */
async function highlight() {
  const params = searchParams(state.detail.timezone);
  if (!Object.keys(params).length) { map.setHighlight(null); return; }
  if (params.from) params.free_only = "true";
  try {
    const items = await allPages(`/locations/${state.detail.id}/spaces`, params);
    map.setHighlight(new Set(items.map((s) => s.id)));
  } catch (err) { say(errorText(err), "error"); }
}

// "Now" moves on: a booking starting or ending changes what the floor shows without an event.
function scheduleEdge() {
  clearTimeout(state.edgeTimer);
  if (state.instant !== null || !map.snapshot) return;
  const now = clock.now();
  const edges = map.snapshot.spaces.flatMap((s) => [s.until, s.next_start]).filter(Boolean)
    .map(Date.parse).filter((x) => x > now);
  const minuteEdge = Math.ceil((now + 1) / 60_000) * 60_000; // keeps the shown time current
  const next = Math.min(minuteEdge, ...edges);
  state.edgeTimer = setTimeout(() => {
    if (edges.includes(next)) loadFloor();
    else { map.at = clock.now(); renderInstant(); scheduleEdge(); }
  }, Math.max(next - now, 250));
}

function connect(id) {
  state.stream?.close();
  state.stream = new LiveStream(`/streams/locations/${id}`, {
    onEvent: (envelope) => {
      if (envelope.type === "location.updated") {
        state.detail = { ...state.detail, ...envelope.data };
        renderPlaceHead();
      }
      map.apply(envelope);
      panel.apply(envelope);
      if (envelope.type?.startsWith("booking.")) scheduleEdge();
    },
    onResync: () => { loadFloor(); panel.reload(); },
    onState: setLive,
  });
  state.stream.open();
}

// ---------------------------------------------------------------- start

function onScrub() {
  const minutes = Number($("instant").value) * 15;
  state.instant = minutes;
  renderInstant();
  clearTimeout(state.scrubTimer);
  state.scrubTimer = setTimeout(loadFloor, 120); // while dragging, only the last position loads
}

function start() {
  startShell({ onAccount: () => { panel.render(); waitlist.load().catch((err) => say(errorText(err), "error")); } });
  const offers = showWaitlist($("my-waitlist"), { say });
  fillForm();
  $("search").addEventListener("submit", search);
  $("instant").addEventListener("input", onScrub);
  $("now").addEventListener("click", () => { state.instant = null; loadFloor(); });
  $("date").addEventListener("change", () => {
    if (state.detail && state.instant === null) state.instant = localMinutes(clock.now(), state.detail.timezone);
    if (state.detail) { loadFloor(); panel.reload(); }
  });
  document.addEventListener("langchange", () => {
    fillForm();
    translate(document);
    if (map.snapshot) { map.draw(); renderInstant(); }
    panel.render();
  });
  document.addEventListener("me-event", (e) => {
    panel.applyMine(e.detail);
    waitlist.apply(e.detail);
    offers.apply(e.detail);
  });
  document.addEventListener("me-resync", () => waitlist.load());
  loadAmenities();
  search();
}

start();
