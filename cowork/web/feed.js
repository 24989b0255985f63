// My bookings · my calendar feed (docs/webhooks.md, "Calendar feeds"): its secret address to
// copy into a calendar app, and a new address when the old one leaked (the old one stops).

import { api, h, ProblemError, write } from "./core.js";
import { t } from "./i18n.js";

/** The feed section into `root`; the address is asked for (and made) only when wanted. */
export function showFeed(root, { say, dialog }) {
  const url = h("input", { id: "feed-url", type: "url", readonly: true, class: "feed-url" });
  const field = h("p", { class: "field", hidden: true }, h("label", { for: "feed-url", text: t("feed.url") }), url);
  const show = h("button", { id: "feed-show", type: "button", class: "secondary", text: t("feed.show"), onclick: () => run(load) });
  const copy = h("button", { id: "feed-copy", type: "button", hidden: true, text: t("feed.copy"), onclick: () => run(copyUrl) });
  const rotate = h("button", { id: "feed-rotate", type: "button", class: "secondary", hidden: true, text: t("feed.rotate"), onclick: confirmRotate });
  root.replaceChildren(
    h("h2", { id: "feed-title", text: t("feed.heading") }),
    h("p", { class: "hint", text: t("feed.hint") }),
    field, h("div", { class: "actions" }, show, copy, rotate));
  root.setAttribute("aria-labelledby", "feed-title");

  function fill(feed) {
    url.value = feed.url;
    field.hidden = copy.hidden = rotate.hidden = false;
    show.hidden = true;
  }
  async function load() { fill(await api("/me/calendar-feed")); }
  async function copyUrl() {
    try {
      await navigator.clipboard.writeText(url.value);
      say(t("feed.copied"), "success");
    } catch {
      url.select(); // no clipboard permission: the address is selected to copy by hand
      say(t("feed.copy_by_hand"), "info");
    }
  }
  function confirmRotate() {
    dialog(t("feed.rotate_title"), [h("p", { text: t("feed.rotate_text") })], t("feed.rotate_confirm"), async () => {
      fill(await write("/me/calendar-feed/rotate", {}));
      say(t("feed.rotated"), "success");
    });
  }
  async function run(step) {
    try { await step(); } catch (err) { say(err instanceof ProblemError ? err.message : t("common.network_error"), "error"); }
  }
}
