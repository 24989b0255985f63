// Manager console · kiosks: register one (its link, with the token shown once, as text and as
// a QR code to scan on the device), list them, revoke (immediate: the kiosk stops at once).

import { allPages, api, h } from "./core.js";
import { fmt, t } from "./i18n.js";
import qrcode from "./vendor/qrcode-generator/qrcode.mjs";

let view = { panel: null, ctx: null };

export async function render(panel, ctx) {
  view = { panel, ctx };
  const form = h("form", { id: "kiosk-form", class: "filters" },
    h("p", { class: "field" }, h("label", { for: "kiosk-name", text: t("kiosks.name") }),
      h("input", { id: "kiosk-name", name: "name", required: true, maxlength: 120 })),
    h("button", { type: "submit", text: t("kiosks.register") }));
  form.addEventListener("submit", register);
  panel.replaceChildren(form, h("div", { id: "kiosk-created" }), h("div", { id: "kiosk-list" }));
  await list();
}

async function list() {
  const items = await allPages("/admin/kiosks", { location_id: String(view.ctx.location.id) });
  const zone = view.ctx.zone;
  view.panel.querySelector("#kiosk-list").replaceChildren(items.length
    ? h("ul", { class: "notifications" }, ...items.map((k) => h("li", { "data-kiosk": k.id },
      h("span", { text: `${k.name} · ${fmt.dateTime(k.created_at, zone)}${k.revoked_at ? ` · ${t("kiosks.revoked")}` : ""}` }),
      k.revoked_at ? null : h("button", {
        type: "button", class: "secondary", "aria-label": `${t("kiosks.revoke")}: ${k.name}`, text: t("kiosks.revoke"),
        onclick: () => revoke(k.id),
      }))))
    : h("p", { class: "muted", text: t("kiosks.none") }));
}

async function register(event) {
  event.preventDefault();
  const name = event.target.querySelector("#kiosk-name").value.trim();
  try {
    const kiosk = await api("/admin/kiosks", { method: "POST", body: { location_id: view.ctx.location.id, name } });
    const url = `${location.origin}/kiosk?token=${encodeURIComponent(kiosk.token)}`;
    const qr = qrcode(0, "M");
    qr.addData(url);
    qr.make();
    view.panel.querySelector("#kiosk-created").replaceChildren(
      h("p", { text: t("kiosks.url") }),
      h("p", {}, h("a", { id: "kiosk-url", class: "kiosk-url", href: url, text: url })),
      h("img", { class: "qr", src: qr.createDataURL(6, 0), alt: t("kiosks.qr") }));
    event.target.reset();
    await list();
  } catch (err) { view.ctx.say(view.ctx.errorText(err), "error"); }
}

async function revoke(id) {
  try {
    await api(`/admin/kiosks/${id}`, { method: "DELETE" });
    await list();
  } catch (err) { view.ctx.say(view.ctx.errorText(err), "error"); }
}
