// The web app's service worker: shows the pushes the node sends (Web Push; the browser has
// already decrypted them) and opens the booking when one is clicked. Payload: {type, event_id,
// booking_id, title, body, url, tag} (docs/push.md).

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "cowork", {
      body: data.body || "",
      tag: data.tag, // a newer push about the same booking replaces the older one
      icon: "/web/icon.svg",
      data: { url: data.url || "/bookings" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || "/bookings", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => w.url === url);
      return open ? open.focus() : self.clients.openWindow(url);
    }),
  );
});
