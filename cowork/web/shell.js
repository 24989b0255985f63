// The frame of every page: header with navigation, language, live status, the member's unread
// notifications (kept live by the personal stream) and the sign-in / sign-up dialog.

import { $, api, h, ProblemError, session, signIn, signOut, signUp } from "./core.js";
import { LANGS, lang, setLang, t, translate } from "./i18n.js";
import { LiveStream } from "./live.js";
import { openForgot, resetFromLink } from "./reset.js";

const NAV = [
  { href: "/", key: "nav.find" },
  { href: "/bookings", key: "nav.bookings", signedIn: true },
  { href: "/manage", key: "nav.manage", roles: ["manager", "admin"] },
  { href: "/admin", key: "nav.admin", roles: ["admin"] },
  { href: "/docs", key: "nav.api" },
];

const shell = { me: null, unread: 0, onAccount: () => {} };

/** Draw the header into #shell; `onAccount` runs after every sign-in or sign-out. */
export function startShell({ onAccount = () => {} } = {}) {
  shell.onAccount = onAccount;
  document.documentElement.lang = lang;
  render();
  translate(document);
  document.addEventListener("langchange", render);
  // Another tab signed in or out: follow it.
  addEventListener("storage", (e) => {
    if (e.key === "cowork.user" || e.key === null) accountChanged();
  });
  accountChanged();
  resetFromLink(() => openAuth("in"));
}

function render() {
  const here = location.pathname;
  const user = session.user;
  const links = NAV.filter((item) => (!item.signedIn || user) && (!item.roles || item.roles.includes(user?.role)))
    .map((item) => h("li", {}, h("a", {
      href: item.href, "aria-current": item.href === here ? "page" : null, text: t(item.key),
    })));
  const langSelect = h("select", {
    id: "lang", "aria-label": t("shell.language"),
    onchange: (e) => setLang(e.target.value),
  }, ...Object.entries(LANGS).map(([code, name]) => h("option", { value: code, selected: code === lang, text: name })));
  const account = user
    ? h("div", { class: "account" },
      h("a", { id: "notif-link", class: "badge-link", href: "/bookings#notifications" },
        h("span", { text: t("shell.notifications") }),
        h("span", { id: "unread", class: "badge", hidden: !shell.unread, text: String(shell.unread) }),
        h("span", { class: "visually-hidden", text: ` ${t("shell.unread_suffix")}` })),
      h("span", { class: "who", text: user.name || user.email }),
      h("button", { id: "sign-out", type: "button", class: "secondary", onclick: onSignOut, text: t("shell.sign_out") }))
    : h("div", { class: "account" },
      h("button", { id: "sign-in", type: "button", onclick: () => openAuth("in"), text: t("shell.sign_in") }),
      h("button", { id: "sign-up", type: "button", class: "secondary", onclick: () => openAuth("up"), text: t("shell.sign_up") }));
  $("shell").replaceChildren(
    h("a", { class: "skip", href: "#main", text: t("shell.skip") }),
    h("a", { class: "brand", href: "/" }, h("img", { src: "/web/icon.svg", alt: "", width: 28, height: 28 }), "cowork"),
    h("nav", { "aria-label": t("shell.nav") }, h("ul", {}, ...links)),
    h("p", { id: "live", class: "live", role: "status", "data-state": shell.liveState || "offline" },
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "live-text", text: t(`live.${shell.liveState || "offline"}`) })),
    langSelect,
    account,
  );
}

/** The page's own stream's state; pages without one show the personal stream's. */
export function setLive(state, fromPage = true) {
  if (fromPage) shell.pageOwnsLive = true;
  else if (shell.pageOwnsLive) return;
  shell.liveState = state;
  const el = $("live");
  if (!el) return;
  el.dataset.state = state;
  el.querySelector(".live-text").textContent = t(`live.${state}`);
}

function setUnread(count) {
  shell.unread = Math.max(0, count);
  const badge = $("unread");
  if (!badge) return;
  badge.textContent = String(shell.unread);
  badge.hidden = !shell.unread;
}

export function adjustUnread(delta) { setUnread(shell.unread + delta); }
export function resetUnread(count) { setUnread(count); }

async function accountChanged() {
  shell.me?.close();
  shell.me = null;
  if (session.signedIn) {
    try {
      session.setUser(await api("/me"));
      const page = await api("/notifications?limit=1");
      shell.unread = page.unread_count ?? 0;
    } catch (err) {
      if (err instanceof ProblemError && err.status === 401) session.clear();
    }
  }
  render();
  if (session.signedIn) {
    // Personal events (my holds confirmed, expiring, refunds) for whichever page is open.
    shell.me = new LiveStream("/streams/me", {
      personal: true,
      onEvent: (envelope) => {
        adjustUnread(1);
        document.dispatchEvent(new CustomEvent("me-event", { detail: envelope }));
      },
      onResync: () => document.dispatchEvent(new CustomEvent("me-resync")),
      onState: (state) => setLive(state, false),
    });
    shell.me.open();
  }
  shell.onAccount(session.user);
}

async function onSignOut() {
  await signOut();
  await accountChanged();
  $("sign-in")?.focus();
}

// ---------------------------------------------------------------- sign in / sign up

/** Ask the visitor to sign in (or sign up); resolves true once they are signed in. */
export function openAuth(mode = "in") {
  return new Promise((resolve) => {
    const error = h("p", { class: "message", role: "alert", "data-kind": "error" });
    const field = (id, key, type, autocomplete) => h("p", { class: "field" },
      h("label", { for: id, text: t(key) }),
      h("input", { id, name: id, type, autocomplete, required: true }));
    const fields = mode === "up"
      ? [field("auth-name", "auth.name", "text", "name"), field("auth-email", "auth.email", "email", "username"),
        field("auth-password", "auth.password", "password", "new-password")]
      : [field("auth-email", "auth.email", "email", "username"),
        field("auth-password", "auth.password", "password", "current-password")];
    const dialog = h("dialog", { class: "auth", "aria-labelledby": "auth-title" });
    const form = h("form", { method: "dialog" },
      h("h2", { id: "auth-title", text: t(mode === "up" ? "auth.title_up" : "auth.title_in") }),
      ...fields,
      mode === "up" ? h("p", { class: "hint", text: t("auth.password_hint") }) : null,
      error,
      h("div", { class: "actions" },
        h("button", { type: "submit", text: t(mode === "up" ? "auth.submit_up" : "auth.submit_in") }),
        h("button", { type: "button", class: "secondary", onclick: () => dialog.close(), text: t("common.cancel") })),
      h("p", {}, h("button", {
        type: "button", class: "link",
        onclick: () => { switched = true; dialog.close(); openAuth(mode === "up" ? "in" : "up").then(resolve); },
        text: t(mode === "up" ? "auth.have_account" : "auth.no_account"),
      })),
      mode === "in" ? h("p", {}, h("button", {
        type: "button", class: "link", id: "forgot",
        onclick: () => { const email = form.querySelector("#auth-email").value; dialog.close(); openForgot(email); },
        text: t("auth.forgot"),
      })) : null);
    let done = false;
    let switched = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const value = (id) => form.querySelector(`#${id}`).value;
      try {
        if (mode === "up") await signUp(value("auth-name").trim(), value("auth-email").trim(), value("auth-password"));
        else await signIn(value("auth-email").trim(), value("auth-password"));
        done = true;
        dialog.close();
      } catch (err) {
        error.textContent = err instanceof ProblemError ? err.message : t("common.network_error");
      }
    });
    dialog.append(form);
    dialog.addEventListener("close", async () => {
      dialog.remove();
      if (done) await accountChanged();
      if (!switched) resolve(done);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
