// Progressive enhancement: "Follow on this device" with Web Push, where the browser can (the e-mail form works without it).
(function () {
  "use strict";
  var form = document.getElementById("push-form");
  if (!form || !("serviceWorker" in navigator) || !("PushManager" in window)) { return; }
  var key = form.getAttribute("data-vapid") || "";
  function bytes(b64) {
    var text = atob((b64 + "===".slice((b64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(text, function (c) { return c.charCodeAt(0); });
  }
  form.hidden = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var worker = new URL(form.action);   // /r/<token>/follow?lang=xx -> /r/sw.js
    worker.pathname = worker.pathname.replace(/\/[^/]+\/follow$/, "/sw.js");
    worker.search = "";
    navigator.serviceWorker.register(worker.href, { scope: "/r/" })
      .then(function (reg) { return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) }); })
      .then(function (sub) {
        document.getElementById("push_subscription").value = JSON.stringify(sub.toJSON());
        form.submit();
      })
      .catch(function () { form.hidden = true; });
  });
})();
