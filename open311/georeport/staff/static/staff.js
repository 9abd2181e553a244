// Progressive enhancement: a map of the page's located requests, when Leaflet loaded; the list works without it.
(function () {
  "use strict";
  var holder = document.getElementById("map");
  var data = document.getElementById("map-points");
  if (!holder || !data || !window.L) { return; }
  var points = [];
  try { points = JSON.parse(data.textContent || "[]"); } catch (e) { return; }
  if (!points.length) { return; }
  holder.hidden = false;
  var map = window.L.map(holder);
  fetch("/config.json").then(function (r) { return r.ok ? r.json() : {}; }).then(function (cfg) {
    if (cfg.tile_url) {
      window.L.tileLayer(cfg.tile_url, { attribution: cfg.tile_attribution || "", maxZoom: 19 }).addTo(map);
    }
  }).catch(function () { /* no tiles: markers only */ });
  var bounds = [];
  points.forEach(function (p) {
    var marker = window.L.marker([p.lat, p.long], { title: "#" + p.id + " " + p.service, alt: "Request " + p.id + ": " + p.service }).addTo(map);
    if (p.url) { marker.on("click", function () { window.location.href = p.url; }); }
    bounds.push([p.lat, p.long]);
  });
  map.fitBounds(bounds, { maxZoom: 16, padding: [20, 20] });
})();
