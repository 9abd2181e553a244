// A Leaflet map when Leaflet is installed (npm); without it, or without tiles, the rest still works.
import { t } from "./i18n.js";

const PIN = { radius: 10, color: "#ffffff", weight: 3, fillColor: "#b10e1e", fillOpacity: 1 };
const FACILITY = { radius: 8, color: "#ffffff", weight: 2, fillColor: "#0b5394", fillOpacity: 1 };
const AREA = { color: "#0b5394", weight: 1, fillOpacity: 0.08 };

/**
 * Build a map in `element`. onPick(lat, long) is called when the map is clicked.
 * Returns {available, setPin, showArea, showMarkers, centre, refresh}.
 */
export function createMap(element, settings, { onPick, label } = {}) {
  const L = window.L;
  element.classList.add("map");
  if (!L) {
    element.classList.add("map-missing");
    element.setAttribute("role", "note");
    element.dataset.i18n = "map.unavailable";
    element.textContent = t("map.unavailable");
    const nothing = () => {};
    return { available: false, setPin: nothing, showArea: nothing, showMarkers: nothing, centre: () => null,
      refresh: nothing };
  }
  const map = L.map(element, { keyboard: true, zoomSnap: 0.5, attributionControl: true });
  if (settings.tile_url) {
    L.tileLayer(settings.tile_url, { attribution: settings.tile_attribution || "", maxZoom: 19 }).addTo(map);
  } else {
    element.classList.add("map-no-tiles");
  }
  const bounds = settings.bounds || [[33.7, -118.95], [34.82, -117.65]];
  map.fitBounds(bounds);
  element.setAttribute("aria-label", label || t("map.label"));
  map.on("click", (event) => onPick?.(event.latlng.lat, event.latlng.lng));
  let pin = null;
  let area = null;
  let markers = null;

  return {
    available: true,
    setPin(lat, long, { pan = true } = {}) {
      if (pin) pin.setLatLng([lat, long]);
      else pin = L.circleMarker([lat, long], { ...PIN, interactive: false }).addTo(map);
      if (pan) map.setView([lat, long], Math.max(map.getZoom(), 14));
    },
    showArea(geojson) {
      if (area) area.remove();
      area = geojson ? L.geoJSON(geojson, { style: AREA, interactive: false }).addTo(map) : null;
      if (pin) pin.bringToFront();
    },
    showMarkers(items) {
      if (markers) markers.remove();
      markers = L.layerGroup(items.map((item) => L.circleMarker([item.lat, item.long], FACILITY)
        .bindTooltip(item.label))).addTo(map);
      if (pin) pin.bringToFront();
      // Show every result (and the chosen point): the view fits them, never zooming in past street level.
      const points = [...items.map((item) => [item.lat, item.long]), ...(pin ? [pin.getLatLng()] : [])];
      if (points.length) map.fitBounds(L.latLngBounds(points), { padding: [24, 24], maxZoom: 16 });
    },
    centre() {
      const c = map.getCenter();
      return { lat: c.lat, long: c.lng };
    },
    refresh() { map.invalidateSize(); },
  };
}
