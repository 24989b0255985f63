// `/manage` Manager console for the locations a manager runs (admins: all): a live dashboard,
// requests awaiting approval, bookings (filters, CSV, staff cancel, refunds, no-shows), spaces
// and the floor plan, hours and closures, booking rules and quotas, kiosks, analytics. Each tab
// is its own module; the location stream feeds them all.

import { $, allPages, api, h, ProblemError, session } from "./core.js";
import { fmt, t, translate } from "./i18n.js";
import { LiveStream } from "./live.js";
import { openAuth, setLive, startShell } from "./shell.js";
import * as analytics from "./manage_analytics.js";
import * as approvals from "./manage_approvals.js";
import * as bookings from "./manage_bookings.js";
import * as hours from "./manage_hours.js";
import * as kiosks from "./manage_kiosks.js";
import * as rules from "./manage_rules.js";
import * as spaces from "./manage_spaces.js";

const TABS = {
  dashboard: { render: dashboard, apply: () => dashboard() }, approvals, bookings, spaces, hours, rules, kiosks, analytics,
};
const state = { locations: [], location: null, tab: "dashboard", stream: null, dashSeq: 0 };

export function say(text, kind = "info") {
  $("message").textContent = text;
  $("message").dataset.kind = kind;
}
export const errorText = (err) => (err instanceof ProblemError ? err.message : t("common.network_error"));

const ctx = {
  get location() { return state.location; },
  get zone() { return state.location?.timezone; },
  say, errorText,
  async reloadLocation() { state.location = await api(`/manage/locations/${state.location.id}`); return state.location; },
};

async function onAccount(user) {
  state.stream?.close();
  if (!user) {
    $("console").hidden = true;
    say(t("manage.sign_in"));
    openAuth("in");
    return;
  }
  if (!session.isStaff()) {
    $("console").hidden = true;
    say(t("manage.not_staff"), "error");
    return;
  }
  say("");
  try {
    state.locations = await allPages("/manage/locations");
  } catch (err) { say(errorText(err), "error"); return; }
  const select = $("manage-location");
  select.replaceChildren(...state.locations.map((l) => h("option", { value: l.id, text: `${l.name} — ${l.city}` })));
  const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("location"));
  select.value = String(state.locations.some((l) => l.id === wanted) ? wanted : state.locations[0]?.id ?? "");
  $("console").hidden = !state.locations.length;
  if (state.locations.length) await selectLocation(Number(select.value));
}

async function selectLocation(id) {
  state.location = await api(`/manage/locations/${id}`);
  history.replaceState(null, "", `#location=${id}&tab=${state.tab}`);
  state.stream?.close();
  state.stream = new LiveStream(`/streams/locations/${id}`, {
    onEvent: (envelope) => {
      if (envelope.type === "location.updated") state.location = { ...state.location, ...envelope.data };
      TABS[state.tab].apply?.(envelope, ctx);
    },
    onResync: () => showTab(state.tab),
    onState: setLive,
  });
  state.stream.open();
  await showTab(state.tab);
}

async function showTab(name) {
  state.tab = name;
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
  }
  if (!state.location) return; // still loading: the location's arrival draws this tab
  history.replaceState(null, "", `#location=${state.location.id}&tab=${name}`);
  try {
    await TABS[name].render($(`panel-${name}`), ctx);
  } catch (err) { say(errorText(err), "error"); }
}

// ---------------------------------------------------------------- dashboard

async function dashboard() {
  const seq = ++state.dashSeq;
  const data = await api(`/manage/dashboard?location_id=${state.location.id}`);
  if (seq !== state.dashSeq) return;
  const d = data.locations.find((l) => l.location_id === state.location.id);
  if (!d) return;
  const stat = (key, value) => h("li", { "data-stat": key }, h("span", { class: "value", text: String(value) }), t(`dash.${key}`));
  const arrivals = d.arrivals.length
    ? h("ul", {}, ...d.arrivals.map((a) => h("li", { text: `${fmt.time(a.start, d.timezone, { note: false })}–${fmt.time(a.end, d.timezone)} · ${a.space_name} · #${a.id}` })))
    : h("p", { class: "muted", text: t("dash.none") });
  $("panel-dashboard").replaceChildren(
    h("ul", { class: "stats" },
      stat("occupied", d.spaces.occupied), stat("booked", d.spaces.booked), stat("held", d.spaces.held),
      stat("free", d.spaces.free), stat("arrivals", d.arrivals_next_2h), stat("holds", d.open_holds),
      stat("no_shows", d.no_shows_today),
      stat("revenue", fmt.money(d.today.revenue_cents, d.currency)),
      stat("net_month", fmt.money(d.month.net_cents, d.currency))),
    h("h2", { text: t("dash.arrivals") }), arrivals);
}

// ---------------------------------------------------------------- start

function start() {
  startShell({ onAccount });
  const params = new URLSearchParams(location.hash.slice(1));
  if (TABS[params.get("tab")]) state.tab = params.get("tab");
  $("manage-location").addEventListener("change", (e) => selectLocation(Number(e.target.value)));
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) {
    tab.type = "button";
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
    tab.addEventListener("keydown", (e) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
      if (!step) return;
      const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
      next.focus();
      showTab(next.dataset.tab);
    });
  }
  document.addEventListener("langchange", () => { translate(document); if (state.location) showTab(state.tab); });
}

start();
