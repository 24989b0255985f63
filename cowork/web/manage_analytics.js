// Manager console · analytics: occupancy, revenue, no-show and cancellation rates for a period,
// bookings per day (uPlot, vendored), and a weekday × hour heatmap of booking starts. Every
// chart has its numbers as a table too.

import { api, h } from "./core.js";
import { addDays, fmt, localDate, t } from "./i18n.js";
import uPlot from "./vendor/uplot/uPlot.esm.js";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
let view = { panel: null, ctx: null, plot: null };

export async function render(panel, ctx) {
  view = { ...view, panel, ctx };
  const today = localDate(Date.now(), ctx.zone);
  const form = h("form", { id: "an-form", class: "filters" },
    h("p", { class: "field" }, h("label", { for: "an-from", text: t("an.from") }), h("input", { id: "an-from", name: "from", type: "date", value: addDays(today, -29) })),
    h("p", { class: "field" }, h("label", { for: "an-to", text: t("an.to") }), h("input", { id: "an-to", name: "to", type: "date", value: today })),
    h("button", { type: "submit", text: t("common.filter") }));
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  panel.replaceChildren(form, h("div", { id: "an-body" }));
  await load();
}

async function load() {
  const form = view.panel.querySelector("#an-form");
  const query = new URLSearchParams({ location_id: view.ctx.location.id, from: form.from.value, to: form.to.value });
  const [overview, series] = await Promise.all([api(`/analytics/overview?${query}`), api(`/analytics/bookings?${query}`)]);
  const o = overview.locations[0];
  const money = (cents) => fmt.money(cents, o.currency);
  const stat = (key, value) => h("li", {}, h("span", { class: "value", text: value }), t(key));
  view.plot?.destroy();
  const chart = h("div", { class: "chart", id: "an-chart", role: "img", "aria-label": t("an.series") });
  view.panel.querySelector("#an-body").replaceChildren(
    h("ul", { class: "stats" },
      stat("an.occupancy", fmt.percent(o.occupancy)), stat("an.bookings", fmt.number(o.bookings)),
      stat("an.revenue", money(o.revenue_cents)), stat("an.refunds", money(o.refunds_cents)),
      stat("an.net", money(o.net_revenue_cents)),
      stat("an.no_show_rate", fmt.percent(o.no_show_rate)), stat("an.cancellation_rate", fmt.percent(o.cancellation_rate))),
    h("h2", { text: t("an.series") }), chart, seriesTable(series.daily),
    h("h2", { id: "heatmap-title", text: t("an.heatmap") }), heatmap(series.heatmap));
  const days = series.daily.map((d) => Date.parse(`${d.date}T12:00:00Z`) / 1000);
  view.plot = new uPlot({
    width: Math.max(320, chart.clientWidth || 600), height: 240,
    series: [{}, { label: t("an.bookings"), stroke: "#0b5cad", width: 2 },
      { label: t("an.cancelled"), stroke: "#a4000f", dash: [6, 4] }, { label: t("an.no_shows"), stroke: "#7a5200", dash: [2, 3] }],
    axes: [{}, { label: t("an.bookings") }],
  }, [days, series.daily.map((d) => d.bookings), series.daily.map((d) => d.cancelled), series.daily.map((d) => d.no_shows)], chart);
}

function seriesTable(daily) {
  return h("details", {}, h("summary", { text: t("an.table") }),
    h("div", { class: "table-wrap", tabindex: "0" }, h("table", {},
      h("thead", {}, h("tr", {}, ...[t("find.date"), t("an.bookings"), t("an.cancelled"), t("an.no_shows")].map((x) => h("th", { scope: "col", text: x })))),
      h("tbody", {}, ...daily.map((d) => h("tr", {}, h("td", { text: d.date }),
        ...[d.bookings, d.cancelled, d.no_shows].map((n) => h("td", { class: "num", text: String(n) }))))))));
}

function heatmap(data) {
  const max = Math.max(1, ...data.bookings.flat());
  return h("div", { class: "table-wrap", tabindex: "0" }, h("table", { class: "heatmap", "aria-labelledby": "heatmap-title" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("an.hour") }), ...data.hours.map((hr) => h("th", { scope: "col", text: String(hr) })))),
    h("tbody", {}, ...data.bookings.map((row, i) => h("tr", {},
      h("th", { scope: "row", text: t(`day.${WEEKDAYS[i]}`).slice(0, 3) }),
      ...row.map((n) => {
        const cell = h("td", { text: n ? String(n) : "" });
        const level = n / max;
        cell.style.background = `rgba(11, 92, 173, ${(level * 0.85).toFixed(2)})`;
        cell.style.color = level > 0.5 ? "#fff" : "#1a1a1a";
        return cell;
      }))))));
}

export function apply() {}
