// "Repeat weekly" when booking (docs/scheduling.md, recurring series): weekdays, until a date or
// a number of times, all-or-nothing or book what is available; the RRULE the API expands in the
// location's wall-clock time, and each occurrence's outcome once booked.

import { h } from "./core.js";
import { fmt, hhmm, localDate, localMinutes, t } from "./i18n.js";

// RFC 5545 weekday codes in the pages' order (Monday first), with their message keys.
export const WEEKDAYS = [["MO", "mon"], ["TU", "tue"], ["WE", "wed"], ["TH", "thu"], ["FR", "fri"], ["SA", "sat"], ["SU", "sun"]];
export const MODES = ["all_or_nothing", "book_available"];

/** The local weekday code ("MO"…) of an instant in a zone. */
function weekdayOf(ms, zone) {
  return WEEKDAYS[(new Date(`${localDate(ms, zone)}T12:00:00Z`).getUTCDay() + 6) % 7][0];
}

/** The repeat choices; they live here, so live redraws of the panel keep them. */
export class RepeatForm {
  constructor() {
    this.on = false;
    this.days = null; // null: the weekday of the chosen start
    this.end = "count";
    this.count = 4;
    this.until = "";
    this.mode = "all_or_nothing";
  }

  /** The fieldset (a checkbox, then the choices when it is on). */
  element(startMs, zone, onToggle) {
    const days = this.chosenDays(startMs, zone);
    const toggle = h("label", { class: "check" },
      h("input", { id: "repeat", type: "checkbox", checked: this.on, onchange: (e) => { this.on = e.target.checked; onToggle(); } }),
      t("series.repeat"));
    if (!this.on) return h("div", { class: "repeat" }, toggle);
    const dayBoxes = WEEKDAYS.map(([code, key]) => h("label", { class: "chip" },
      h("input", {
        type: "checkbox", name: "repeat-day", value: code, checked: days.includes(code),
        onchange: (e) => {
          const set = new Set(this.chosenDays(startMs, zone));
          if (e.target.checked) set.add(code); else set.delete(code);
          this.days = WEEKDAYS.map(([c]) => c).filter((c) => set.has(c));
        },
      }), ` ${t(`day.${key}`)}`));
    const endChoice = (value) => h("label", { class: "check" },
      h("input", { type: "radio", name: "repeat-end", value, checked: this.end === value, onchange: () => { this.end = value; } }),
      t(`series.end_${value}`));
    return h("div", { class: "repeat" }, toggle,
      h("fieldset", { class: "amenities" }, h("legend", { text: t("series.on_days") }), h("div", { class: "chips" }, ...dayBoxes)),
      h("fieldset", { class: "repeat-end" }, h("legend", { text: t("series.ends") }),
        endChoice("count"),
        h("p", { class: "field" }, h("label", { for: "repeat-count", text: t("series.count") }),
          h("input", { id: "repeat-count", type: "number", min: 1, max: 52, value: this.count, inputmode: "numeric", onchange: (e) => { this.count = Number(e.target.value); this.end = "count"; } })),
        endChoice("until"),
        h("p", { class: "field" }, h("label", { for: "repeat-until", text: t("series.until") }),
          h("input", { id: "repeat-until", type: "date", value: this.until, onchange: (e) => { this.until = e.target.value; this.end = "until"; } }))),
      h("p", { class: "field" }, h("label", { for: "repeat-mode", text: t("series.mode") }),
        h("select", { id: "repeat-mode", onchange: (e) => { this.mode = e.target.value; } },
          ...MODES.map((m) => h("option", { value: m, selected: m === this.mode, text: t(`series.mode_${m}`) })))));
  }

  chosenDays(startMs, zone) {
    return this.days?.length ? this.days : [weekdayOf(startMs, zone)];
  }

  /** The POST /spaces/{id}/series body for this slot as the first occurrence's time. */
  body(slot, zone) {
    const start = Date.parse(slot.start);
    const days = this.chosenDays(start, zone).join(",");
    const end = this.end === "until" && this.until ? `UNTIL=${this.until.replaceAll("-", "")}` : `COUNT=${this.count}`;
    return {
      rrule: `FREQ=WEEKLY;BYDAY=${days};${end}`,
      first_date: localDate(start, zone),
      start_time: hhmm(localMinutes(start, zone)),
      duration_minutes: Math.round((Date.parse(slot.end) - start) / 60_000),
      mode: this.mode,
    };
  }
}

/** What became of each occurrence: booked (held to pay, awaiting approval, confirmed) or why not. */
export function outcomes(occurrences, zone) {
  return h("ul", { class: "occurrences", id: "series-outcomes" }, ...occurrences.map((o) => {
    const status = o.booking?.status;
    const text = o.outcome === "booked" ? t(`state.${status}`) : outcomeText(o.outcome);
    return h("li", { "data-outcome": o.outcome, "data-booking": o.booking?.id ?? null },
      h("span", { text: fmt.range(o.start, o.end, zone) }), " · ", h("span", { class: "state", text }));
  }));
}

export function outcomeText(code) {
  const key = `outcome.${code}`;
  const text = t(key);
  return text === key ? code.replaceAll("_", " ") : text;
}

/** "Every week on Monday, Wednesday" from an RRULE (FREQ, BYDAY, INTERVAL). */
export function ruleText(rrule) {
  const parts = Object.fromEntries(rrule.split(";").map((p) => p.split("=")));
  const days = (parts.BYDAY || "").split(",").map((code) => WEEKDAYS.find(([c]) => c === code))
    .filter(Boolean).map(([, key]) => t(`day.${key}`)).join(", ");
  const every = Number(parts.INTERVAL || 1);
  if (parts.FREQ === "DAILY") return every > 1 ? t("series.every_n_days", { n: every }) : t("series.every_day");
  return every > 1 ? t("series.every_n_weeks", { n: every, days }) : t("series.every_week", { days });
}
