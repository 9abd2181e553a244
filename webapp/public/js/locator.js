// Choosing a point: address search (the gateway's geocoder), the browser's position, or a pin on the map.
import * as api from "./api.js";
import { applyTexts, t } from "./i18n.js";
import { createMap } from "./map.js";

const TEMPLATE = (p) => `
  <div class="inline-form" role="search" id="${p}-address-form">
    <div class="field">
      <label for="${p}-address" data-i18n="locator.address">Street address</label>
      <input id="${p}-address" autocomplete="street-address" maxlength="500" aria-describedby="${p}-address-hint">
      <p class="hint" id="${p}-address-hint" data-i18n="locator.addressHint">House number, street and city</p>
    </div>
    <button type="button" class="button-secondary" id="${p}-find" data-i18n="locator.find">Find</button>
  </div>
  <p><button type="button" class="button-link" id="${p}-here" data-i18n="locator.here">Use my current location</button></p>
  <div id="${p}-map"></div>
  <p class="map-tools"><button type="button" class="button-link" id="${p}-centre" data-i18n="locator.centre">Put the pin at the centre of the map</button></p>
  <p class="location" id="${p}-summary" role="status" aria-live="polite"></p>`;

/** A location picker in `container`; onChange({lat, long, address, source}) fires on every new point. */
export function createLocator(container, prefix, settings, { onChange, mapLabel } = {}) {
  container.innerHTML = TEMPLATE(prefix);
  applyTexts(container);
  const $ = (suffix) => container.querySelector(`#${prefix}-${suffix}`);
  let point = null;
  let problem = null;
  let map = null;

  const summary = () => {
    const el = $("summary");
    el.classList.toggle("field-error", Boolean(problem));
    if (problem) el.textContent = t(problem);
    else if (!point) el.textContent = t("locator.none");
    else {
      const where = point.address || t(point.source === "device" ? "locator.device" : "locator.pinned");
      el.textContent = t("locator.chosen", { where, lat: point.lat.toFixed(5), long: point.long.toFixed(5) });
    }
  };

  const set = (lat, long, address, source, pan = true) => {
    point = { lat: Number(lat), long: Number(long), address: address || null, source };
    problem = null;
    map?.setPin(point.lat, point.long, { pan });
    summary();
    onChange?.(point);
  };

  // Not a <form>: the Request screen's locator sits inside the request form, and forms cannot nest.
  const find = async () => {
    const address = $("address").value.trim();
    if (!address) { problem = "locator.addressMissing"; summary(); $("address").focus(); return; }
    try {
      const found = await api.geocode(address);
      if (!found.length) { problem = "locator.notFound"; summary(); return; }
      set(found[0].lat, found[0].long, found[0].address, "address");
    } catch (error) {
      problem = error.status === 503 ? "locator.geocoderDown" : "locator.notFound";
      summary();
    }
  };
  $("find").addEventListener("click", find);
  $("address").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); find(); }
  });

  $("here").addEventListener("click", () => {
    if (!navigator.geolocation) { problem = "locator.noGeolocation"; summary(); return; }
    $("summary").textContent = t("locator.locating");
    navigator.geolocation.getCurrentPosition(
      (position) => set(position.coords.latitude, position.coords.longitude, null, "device"),
      () => { problem = "locator.geolocationFailed"; summary(); },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  });

  $("centre").addEventListener("click", () => {
    const centre = map?.centre();
    if (centre) set(centre.lat, centre.long, null, "map", false);
  });

  const ensureMap = () => {
    if (map) {
      map.refresh();  // the screen was hidden: Leaflet measures its size again, then shows the pin
      if (point) map.setPin(point.lat, point.long);
      return;
    }
    map = createMap($("map"), settings, { onPick: (lat, long) => set(lat, long, null, "map", false), label: mapLabel });
    if (!map.available) $("centre").hidden = true;
    if (point) map.setPin(point.lat, point.long);
  };

  summary();
  return {
    get point() { return point; },
    show: ensureMap,
    map: () => map,
    refresh() { applyTexts(container); summary(); },
  };
}
