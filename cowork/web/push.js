// "Notify me on this device": the service worker (/sw.js) shows what arrives; the browser
// subscribes with the node's VAPID key and the subscription becomes one of the member's devices
// (POST /me/devices); "stop" deletes the device and unsubscribes (docs/push.md, docs/web.md).

import { $, allPages, api, ProblemError, session } from "./core.js";
import { lang, t } from "./i18n.js";

const DEVICE = "cowork.push.device"; // the id the API gave this browser's subscription

export const supported = () =>
  "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

function show(on, note) {
  $("push-on").hidden = on;
  $("push-off").hidden = !on;
  $("push-state").textContent = note ?? t(on ? "push.state_on" : "push.state_off");
}

/** Whether this browser's subscription is one of the signed-in member's devices now. */
async function registered() {
  const id = Number(localStorage.getItem(DEVICE));
  const reg = await navigator.serviceWorker.getRegistration("/");
  const sub = await reg?.pushManager.getSubscription();
  if (!id || !sub) return false;
  const mine = await allPages("/me/devices");
  return mine.some((d) => d.id === id);
}

/** Show the section for a signed-in member, in the state this device is in. */
export async function renderPush() {
  const section = $("push");
  section.hidden = !session.signedIn;
  if (!session.signedIn) return;
  if (!supported()) {
    $("push-on").hidden = $("push-off").hidden = true;
    $("push-state").textContent = t("push.unsupported");
    return;
  }
  show(await registered().catch(() => false));
}

function base64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function subscribe() {
  if ((await Notification.requestPermission()) !== "granted") return show(false, t("push.denied"));
  const { public_key: key } = await api("/push/vapid-public-key", { auth: false });
  const reg = await navigator.serviceWorker.register("/sw.js");
  await navigator.serviceWorker.ready;
  const sub = (await reg.pushManager.getSubscription())
    ?? (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64url(key) }));
  const device = await api("/me/devices", {
    method: "POST", body: { kind: "webpush", subscription: sub.toJSON(), locale: lang },
  });
  localStorage.setItem(DEVICE, String(device.id));
  show(true, t("push.enabled"));
}

async function unsubscribe() {
  const id = localStorage.getItem(DEVICE);
  if (id) {
    await api(`/me/devices/${id}`, { method: "DELETE" }).catch((err) => {
      if (!(err instanceof ProblemError && err.status === 404)) throw err; // already gone
    });
  }
  localStorage.removeItem(DEVICE);
  const reg = await navigator.serviceWorker.getRegistration("/");
  await (await reg?.pushManager.getSubscription())?.unsubscribe();
  show(false, t("push.disabled"));
}

function failed(err) {
  const unset = err instanceof ProblemError && err.code === "webpush_not_configured";
  $("push-state").textContent = unset ? t("push.unavailable")
    : err instanceof ProblemError ? err.message : t("push.failed");
}

export function startPush() {
  for (const [id, action] of [["push-on", subscribe], ["push-off", unsubscribe]]) {
    const button = $(id);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try { await action(); } catch (err) { failed(err); } finally { button.disabled = false; }
    });
  }
}
