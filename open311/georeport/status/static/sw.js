// The status pages' service worker: shows a notice pushed by the gateway, opens its status page on a click.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "311", { body: data.body || "", data: { url: data.url } }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = event.notification.data && event.notification.data.url;
  if (url) { event.waitUntil(self.clients.openWindow(url)); }
});
