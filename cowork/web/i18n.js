// English and Italian: message catalogues, and dates, times and money formatted per locale and
// per location time zone (the zone is named whenever it differs from the viewer's).

import { MESSAGES } from "./messages.js";

export const LANGS = { en: "English", it: "Italiano" };
const STORE = "cowork.lang";

function initialLang() {
  const saved = localStorage.getItem(STORE);
  if (saved && LANGS[saved]) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("it") ? "it" : "en";
}

export let lang = initialLang();
export const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function setLang(next) {
  if (!LANGS[next]) return;
  localStorage.setItem(STORE, next);
  lang = next;
  document.documentElement.lang = next;
  translate(document);
  document.dispatchEvent(new CustomEvent("langchange"));
}

/** The message `key`, with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = MESSAGES[lang]?.[key] ?? MESSAGES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Fill every [data-i18n] (text), [data-i18n-label] (aria-label) and placeholder in `root`. */
export function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  const title = document.querySelector("title[data-i18n]");
  if (title) document.title = t(title.dataset.i18n);
}

const locale = () => (lang === "it" ? "it-IT" : "en-GB");

function zoneNote(date, zone) {
  if (!zone || zone === viewerZone) return "";
  const part = new Intl.DateTimeFormat(locale(), { timeZone: zone, timeZoneName: "short" })
    .formatToParts(date).find((p) => p.type === "timeZoneName");
  return part ? ` ${part.value}` : "";
}

export const fmt = {
  money(cents, currency) {
    return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(cents / 100);
  },
  /** "14:30" in the zone, plus the zone's name when it is not the viewer's. */
  time(iso, zone, { note = true, endOfDay = false } = {}) {
    const date = new Date(iso);
    let text = date.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit", timeZone: zone });
    if (endOfDay && text === "00:00") text = "24:00"; // an interval ending at midnight
    return note ? text + zoneNote(date, zone) : text;
  },
  date(iso, zone) {
    return new Date(iso).toLocaleDateString(locale(), {
      weekday: "short", day: "numeric", month: "short", timeZone: zone,
    });
  },
  dateTime(iso, zone) {
    return `${fmt.date(iso, zone)} ${fmt.time(iso, zone)}`;
  },
  /** "Tue 1 Dec 10:00–12:00 CET": one booking's slot. */
  range(start, end, zone) {
    return `${fmt.date(start, zone)} ${fmt.time(start, zone, { note: false })}–${fmt.time(end, zone, { endOfDay: true })}`;
  },
  duration(minutes) {
    const hours = Math.floor(minutes / 60);
    const rest = minutes % 60;
    if (!hours) return t("duration.minutes", { m: rest });
    return rest ? t("duration.hours_minutes", { h: hours, m: rest }) : t("duration.hours", { h: hours });
  },
  number(value, digits = 0) {
    return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
  },
  percent(ratio) {
    return ratio === null || ratio === undefined
      ? "—"
      : new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(ratio);
  },
};

// ---------------------------------------------------------------- local dates in a zone

/** The zone's offset from UTC at `ms`, in ms (e.g. +3,600,000 for CET). */
export function zoneOffsetMs(ms, zone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant of local `date` ("2026-12-01") at `minutes` past midnight in `zone`. */
export function localInstant(date, minutes, zone) {
  const [y, m, d] = date.split("-").map(Number);
  const guess = Date.UTC(y, m - 1, d, 0, minutes);
  // Two passes settle the offset across a daylight-saving change.
  let ms = guess - zoneOffsetMs(guess, zone);
  ms = guess - zoneOffsetMs(ms, zone);
  return ms;
}

/** The local date ("YYYY-MM-DD") of `ms` in `zone`. */
export function localDate(ms, zone) {
  return new Date(ms + zoneOffsetMs(ms, zone)).toISOString().slice(0, 10);
}

/** Minutes past local midnight of `ms` in `zone`. */
export function localMinutes(ms, zone) {
  const local = new Date(ms + zoneOffsetMs(ms, zone));
  return local.getUTCHours() * 60 + local.getUTCMinutes();
}

export function addDays(date, days) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function hhmm(minutes) {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}
