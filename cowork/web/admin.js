// `/admin` users and roles (role, managed locations), and the audit log with filters.

import { $, api, h, ProblemError, session } from "./core.js";
import { fmt, localInstant, t, translate, viewerZone } from "./i18n.js";
import { openAuth, startShell } from "./shell.js";

const ROLES = ["member", "manager", "admin"];
const state = { auditCursor: null };

function say(text, kind = "info") {
  $("message").textContent = text;
  $("message").dataset.kind = kind;
}
const errorText = (err) => (err instanceof ProblemError ? err.message : t("common.network_error"));

async function onAccount(user) {
  $("admin").hidden = user?.role !== "admin";
  if (!user) { say(t("manage.sign_in")); openAuth("in"); return; }
  if (user.role !== "admin") { say(t("admin.not_admin"), "error"); return; }
  say("");
  fillRoles();
  await Promise.all([loadUsers(), loadAudit(true)]);
}

function fillRoles() {
  const select = $("user-role");
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "", text: t("common.all") }), ...ROLES.map((r) => h("option", { value: r, text: t(`role.${r}`) })));
  select.value = chosen;
}

async function loadUsers() {
  const params = new URLSearchParams({ limit: "100" });
  for (const [k, v] of new FormData($("user-filters"))) if (v) params.set(k, v);
  try {
    const page = await api(`/admin/users?${params}`);
    $("users").replaceChildren(h("table", { class: "stacked" },
      h("thead", {}, h("tr", {}, ...userColumns().map((x) => h("th", { scope: "col", text: x })))),
      h("tbody", {}, ...page.items.map(userRow))));
  } catch (err) { say(errorText(err), "error"); }
}

const userColumns = () => ["#", t("auth.email"), t("auth.name"), t("admin.role"), t("admin.managed"), ""];

function userRow(u) {
  const role = h("select", { id: `role-${u.id}`, "aria-label": t("admin.change_role", { email: u.email }) },
    ...ROLES.map((r) => h("option", { value: r, selected: r === u.role, text: t(`role.${r}`) })));
  const managed = h("input", {
    id: `managed-${u.id}`, value: u.managed_location_ids.join(", "), inputmode: "numeric",
    "aria-label": `${t("admin.managed")}: ${u.email}`, size: 8,
  });
  const save = h("button", {
    type: "button", "aria-label": `${t("common.save")}: ${u.email}`, text: t("common.save"),
    onclick: async () => {
      const ids = managed.value.split(/[\s,]+/).filter(Boolean).map(Number);
      try {
        const out = await api(`/admin/users/${u.id}`, { method: "PATCH", body: { role: role.value, managed_location_ids: ids } });
        say(t("admin.saved", { email: out.email, role: t(`role.${out.role}`) }), "success");
        if (out.id === session.user?.id) session.setUser({ ...session.user, role: out.role });
      } catch (err) { say(errorText(err), "error"); }
    },
  });
  // Each cell names its column: a narrow screen shows the rows stacked, headers beside the values.
  const cells = [String(u.id), u.email, u.name, role, managed, save];
  return h("tr", { "data-user": u.id }, ...cells.map((c, i) => h("td", { "data-label": userColumns()[i] }, c)));
}

const auditColumns = () => [t("admin.at"), t("admin.actor"), t("admin.action"), t("admin.entity"), t("admin.change")];

async function loadAudit(fresh) {
  const params = new URLSearchParams({ limit: "50" });
  for (const [k, v] of new FormData($("audit-filters"))) {
    if (!v) continue;
    // Dates are read in the viewer's zone; the API wants instants with an offset.
    if (k === "from" || k === "to") {
      const day = k === "to" ? new Date(Date.parse(`${v}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10) : v;
      params.set(k, new Date(localInstant(day, 0, viewerZone)).toISOString());
    } else params.set(k, v);
  }
  if (!fresh && state.auditCursor) params.set("cursor", state.auditCursor);
  try {
    const page = await api(`/admin/audit?${params}`);
    state.auditCursor = page.next_cursor;
    $("audit-more").hidden = !page.next_cursor;
    const rows = page.items.map((e) => {
      const cells = [h("time", { datetime: e.at, text: fmt.dateTime(e.at, viewerZone) }),
        e.actor_id === null ? "system" : String(e.actor_id), e.action, `${e.entity} ${e.entity_id}`,
        h("code", { text: summary(e) })];
      return h("tr", { "data-audit": e.id }, ...cells.map((c, i) => h("td", { "data-label": auditColumns()[i] }, c)));
    });
    const existing = $("audit").querySelector("tbody");
    if (!fresh && existing) { existing.append(...rows); return; }
    $("audit").replaceChildren(h("table", { class: "stacked" },
      h("thead", {}, h("tr", {}, ...auditColumns().map((x) => h("th", { scope: "col", text: x })))),
      h("tbody", {}, ...rows)));
  } catch (err) { say(errorText(err), "error"); }
}

function summary(e) {
  const before = e.before || {};
  const after = e.after || {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).slice(0, 4);
  return keys.map((k) => `${k}: ${JSON.stringify(before[k] ?? null)} → ${JSON.stringify(after[k] ?? null)}`).join("; ").slice(0, 240);
}

function start() {
  startShell({ onAccount });
  $("user-filters").addEventListener("submit", (e) => { e.preventDefault(); loadUsers(); });
  $("audit-filters").addEventListener("submit", (e) => { e.preventDefault(); loadAudit(true); });
  $("audit-more").addEventListener("click", () => loadAudit(false));
  document.addEventListener("langchange", () => { translate(document); onAccount(session.user); });
}

start();
