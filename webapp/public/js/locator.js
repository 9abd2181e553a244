// Choosing a point without the map or with it: a place search (an address, an intersection or a County
// facility's name, with suggestions: an ARIA 1.2 combobox), the browser's position, or a pin on the map.
import * as api from "./api.js";
import { applyTexts, t, tCount } from "./i18n.js";
import { createMap } from "./map.js";

const TEMPLATE = (p) => `
  <div class="inline-form" role="search" id="${p}-address-form">
    <div class="field combobox">
      <label for="${p}-address" id="${p}-address-label" data-i18n="locator.place">Address, intersection or place</label>
      <input id="${p}-address" autocomplete="off" maxlength="500" role="combobox" aria-autocomplete="list"
        aria-expanded="false" aria-controls="${p}-suggestions" aria-describedby="${p}-address-hint">
      <ul class="suggestions" id="${p}-suggestions" role="listbox" aria-labelledby="${p}-address-label" hidden></ul>
      <p class="hint" id="${p}-address-hint" data-i18n="locator.placeHint">For example 4801 E 3rd St</p>
      <p class="visually-hidden" id="${p}-suggest-status" role="status" aria-live="polite"></p>
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
  $("find").addEventListener("click", () => { close(); find(); });

  // Suggestions (GET locations.json): typed words -> addresses, intersections and facilities, chosen by keyboard.
  const input = $("address");
  const listbox = $("suggestions");
  let options = [];
  let active = -1;
  let timer = null;
  let asked = 0;

  const close = () => {
    clearTimeout(timer);
    asked += 1;   // an answer still on its way is for a search that is over
    listbox.hidden = true;
    listbox.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    options = [];
    active = -1;
  };
  const highlight = (index) => {
    active = index;
    for (const [i, li] of [...listbox.children].entries()) li.setAttribute("aria-selected", String(i === index));
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", listbox.children[index].id);
      listbox.children[index].scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  };
  const pick = (option) => {
    input.value = option.label;
    close();
    set(option.lat, option.long, option.label, option.kind === "facility" ? "facility" : "address");
  };
  const KIND = { address: "locator.kindAddress", intersection: "locator.kindIntersection", facility: "locator.kindFacility" };
  const show = (found) => {
    options = found;
    listbox.replaceChildren(...found.map((option, i) => {
      const li = document.createElement("li");
      li.id = `${prefix}-option-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      const label = document.createElement("span");
      label.textContent = option.label;
      const kind = document.createElement("span");
      kind.className = "badge badge-muted";
      kind.textContent = t(KIND[option.kind] || KIND.address);
      li.append(label, " ", kind);
      li.addEventListener("mousedown", (event) => event.preventDefault());   // keep the focus in the field
      li.addEventListener("click", () => pick(option));
      return li;
    }));
    listbox.hidden = !found.length;
    input.setAttribute("aria-expanded", String(Boolean(found.length)));
    active = -1;
    $("suggest-status").textContent = found.length ? tCount("locator.suggestions", found.length) : t("locator.noSuggestions");
  };
  const suggest = async () => {
    const text = input.value.trim();
    const ticket = ++asked;
    if (text.length < 3) { close(); $("suggest-status").textContent = ""; return; }
    try {
      const found = await api.locations(text);
      // only for the latest keystroke, and while the field still has the focus
      if (ticket === asked && input.value.trim() === text && document.activeElement === input) show(found);
    } catch {
      if (ticket === asked) close();
    }
  };
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 200); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && options.length) {
      event.preventDefault();
      highlight((active + 1) % options.length);
    } else if (event.key === "ArrowUp" && options.length) {
      event.preventDefault();
      highlight(active <= 0 ? options.length - 1 : active - 1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (active >= 0) pick(options[active]);
      else { close(); find(); }
    } else if (event.key === "Escape" && !listbox.hidden) {
      event.preventDefault();
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));

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
    refresh() { applyTexts(container); close(); summary(); },
  };
}
