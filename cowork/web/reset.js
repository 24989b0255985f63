// A forgotten password: "Forgot your password?" in the sign-in dialog asks for a link by
// e-mail; the link (/#password-reset=<token>) opens a dialog to choose a new password, which
// ends every other session (docs/push.md, "Password reset").

import { api, h, ProblemError } from "./core.js";
import { t } from "./i18n.js";

const LINK = "#password-reset=";

/** A modal form: `fields`, a submit button, a status line; `submit(form)` returns the text
 *  to show when it worked (the form then becomes that text and a close or `next` button). */
function formDialog({ title, hint, fields, submitText, submit, next }) {
  const status = h("p", { class: "message", role: "status" });
  const dialog = h("dialog", { class: "auth", "aria-labelledby": "reset-title" });
  const form = h("form", { method: "dialog" },
    h("h2", { id: "reset-title", text: title }),
    hint ? h("p", { class: "hint", text: hint }) : null,
    ...fields, status,
    h("div", { class: "actions" },
      h("button", { type: "submit", text: submitText }),
      h("button", { type: "button", class: "secondary", onclick: () => dialog.close(), text: t("common.cancel") })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.dataset.kind = "";
    try {
      const done = await submit(form);
      const after = next
        ? h("button", { type: "button", onclick: () => { dialog.close(); next.open(); }, text: next.text })
        : h("button", { type: "button", onclick: () => dialog.close(), text: t("common.close") });
      form.replaceChildren(h("h2", { id: "reset-title", text: title }),
        h("p", { class: "message", role: "status", "data-kind": "success", text: done }), after);
      after.focus();
    } catch (err) {
      status.dataset.kind = "error";
      status.textContent = err instanceof ProblemError ? err.message : t("common.network_error");
    }
  });
  dialog.append(form);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

const field = (id, key, type, autocomplete) => h("p", { class: "field" },
  h("label", { for: id, text: t(key) }),
  h("input", { id, name: id, type, autocomplete, required: true }));

/** Ask for a reset link by e-mail (the answer is the same for any address). */
export function openForgot(email = "") {
  const input = field("reset-email", "auth.email", "email", "username");
  input.querySelector("input").value = email;
  formDialog({
    title: t("reset.title_ask"), hint: t("reset.ask_hint"), fields: [input], submitText: t("reset.send"),
    submit: async (form) => {
      const address = form.querySelector("#reset-email").value.trim();
      await api("/auth/password-reset", { method: "POST", body: { email: address }, auth: false });
      return t("reset.sent");
    },
  });
}

/** Opened from the e-mail's link: choose a new password, then sign in with it. */
export function resetFromLink(signIn) {
  if (!location.hash.startsWith(LINK)) return;
  const token = location.hash.slice(LINK.length);
  history.replaceState(null, "", location.pathname + location.search); // not kept in history
  formDialog({
    title: t("reset.title_new"), hint: t("auth.password_hint"),
    fields: [field("reset-password", "reset.new_password", "password", "new-password")],
    submitText: t("reset.save"),
    submit: async (form) => {
      const password = form.querySelector("#reset-password").value;
      await api("/auth/password-reset/confirm", { method: "POST", body: { token, password }, auth: false });
      return t("reset.done");
    },
    next: { text: t("shell.sign_in"), open: signIn },
  });
}
