// Locate: County facilities near a point, by kind, nearest first, with directions.
import * as api from "./api.js";
import { formatDistance, t, tCount } from "./i18n.js";
import { createLocator } from "./locator.js";

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/** A plain maps link with the facility as the destination (opens the phone's maps app where there is one). */
export function directionsUrl(lat, long) {
  return `https://www.google.com/maps/dir/?api=1&destination=${encodeURIComponent(`${lat},${long}`)}`;
}

export function createLocateScreen(settings) {
  let kinds = null;
  let results = [];
  const locator = createLocator($("locate-locator"), "locate", settings, {
    onChange: search, mapLabel: t("map.locateLabel"),
  });

  const kindName = (kind) => {
    const text = t(`locate.kinds.${kind}`);
    return text === `locate.kinds.${kind}` ? kind : text;
  };

  async function loadKinds() {
    const all = await api.facilities({ limit: 1000 });
    kinds = [...new Set(all.map((f) => f.category))].sort();
    renderKinds();
  }

  function renderKinds() {
    const select = $("facility-kind");
    const previous = select.value;
    select.replaceChildren(new Option(t("locate.allKinds"), ""), ...(kinds || []).map((k) => new Option(kindName(k), k)));
    select.value = (kinds || []).includes(previous) ? previous : "";
  }

  async function search() {
    const point = locator.point;
    if (!point) { results = []; render(); return; }
    $("facility-message").textContent = t("locate.searching");
    try {
      results = await api.facilities({ lat: point.lat, long: point.long, radius: $("facility-radius").value,
        category: $("facility-kind").value, limit: 50 });
    } catch (error) {
      results = [];
      $("facility-message").textContent = error.descriptions?.join(" ") || t("locate.failed");
      $("facility-list").replaceChildren();
      return;
    }
    render();
  }

  function render() {
    const list = $("facility-list");
    list.replaceChildren();
    if (!locator.point) { $("facility-message").textContent = t("locate.needPlace"); return; }
    $("facility-message").textContent = results.length ? tCount("locate.count", results.length) : t("locate.none");
    locator.map()?.showMarkers(results.map((f) => ({ lat: f.lat, long: f.long, label: f.name })));
    for (const facility of results) {
      const li = el("li", "card");
      const h = el("h2", "card-title", facility.name);
      const meta = el("p", "facility-meta");
      meta.append(el("span", "badge badge-kind", kindName(facility.category)), " ", formatDistance(facility.distance_m));
      li.append(h, meta);
      const address = [facility.address, facility.city].filter(Boolean).join(", ");
      if (address) li.append(el("p", null, address));
      if (facility.hours) li.append(el("p", "hint", facility.hours));
      const links = el("p", "actions");
      const directions = el("a", "button-primary", t("locate.directions"));
      directions.href = directionsUrl(facility.lat, facility.long);
      directions.target = "_blank";
      directions.rel = "noopener";
      directions.setAttribute("aria-label", t("locate.directionsTo", { name: facility.name }));
      links.append(directions);
      if (facility.phone) {
        const tel = el("a", "button-link", facility.phone);
        tel.href = `tel:${facility.phone.replace(/[^0-9+]/g, "")}`;
        links.append(" ", tel);
      }
      if (facility.url) {
        const site = el("a", "button-link", t("locate.website"));
        site.href = facility.url;
        site.target = "_blank";
        site.rel = "noopener";
        site.setAttribute("aria-label", t("locate.websiteOf", { name: facility.name }));
        links.append(" ", site);
      }
      li.append(links);
      list.append(li);
    }
  }

  $("facility-kind").addEventListener("change", search);
  $("facility-radius").addEventListener("change", search);

  return {
    async show() {
      locator.show();
      if (!kinds) await loadKinds().catch(() => { kinds = []; renderKinds(); });
      render();
    },
    languageChanged() { locator.refresh(); renderKinds(); render(); },
  };
}
