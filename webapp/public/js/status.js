// Status: the requests this browser submitted (and numbers typed in), Latest / Pending / Completed, with history.
import * as api from "./api.js";
import { serviceName } from "./catalog.js";
import { formatDate, local, t, tCount } from "./i18n.js";
import { forgetRequest, rememberRequest, savedRequests } from "./store.js";

const $ = (id) => document.getElementById(id);
// docs/feeds.md: ids override every other filter, so Pending and Completed filter the answer by status.
const FILTERS = { latest: () => true, pending: (r) => r.status === "open", completed: (r) => r.status === "closed" };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

export function createStatusScreen() {
  let filter = "latest";
  let found = new Map();

  async function load() {
    const saved = savedRequests();
    if (!saved.length) { found = new Map(); render(); return; }
    $("status-message").textContent = t("status.loading");
    try {
      const rows = await api.requests(saved.map((r) => r.id));
      found = new Map(rows.map((r) => [r.service_request_id, r]));
      render();
    } catch (error) {
      $("status-message").textContent = t("status.failed");
    }
  }

  async function card(row) {
    const li = el("li", "card");
    li.dataset.id = row.service_request_id;
    const name = await serviceName(row.service_code, row.service_name);
    const h = el("h2", "card-title");
    h.append(name, " ", el("span", "request-id", `#${row.service_request_id}`));
    const badge = el("span", `badge badge-${row.status}`, t(`status.state.${row.status}`));
    const facts = el("dl", "facts");
    const fact = (label, value) => { if (value) facts.append(el("dt", null, label), el("dd", null, value)); };
    fact(t("status.requested"), formatDate(row.requested_datetime));
    fact(t("status.updated"), formatDate(row.updated_datetime));
    fact(t("status.expected"), formatDate(row.expected_datetime));
    fact(t("status.where"), row.address || (row.lat != null ? `${row.lat.toFixed(5)}, ${row.long.toFixed(5)}` : ""));
    fact(t("status.agency"), local(row.agency_responsible));
    fact(t("status.notes"), row.status_notes);
    li.append(h, badge, facts);
    if (row.description) li.append(el("p", "description", row.description));
    // every photo with extensions=true (extended_attributes.media_urls), else the spec's one media_url
    const photos = row.extended_attributes?.media_urls?.length ? row.extended_attributes.media_urls
      : [row.media_url].filter(Boolean);
    photos.forEach((url, i) => {
      const img = el("img", "thumbnail");
      img.src = url;
      img.alt = t("status.photo", { id: row.service_request_id, number: i + 1 });
      li.append(img);
    });
    const notes = row.notes || [];
    if (notes.length) {
      const history = el("details", "history");
      history.append(el("summary", null, t("status.history", { count: notes.length })));
      const ol = el("ol");
      for (const note of notes) {
        const item = el("li");
        item.append(el("time", null, formatDate(note.datetime)), " — ",
          note.type === "submitted" ? t("status.submitted") : t(`status.state.${note.status}`));
        if (note.description) item.append(": ", note.description);
        ol.append(item);
      }
      history.append(ol);
      li.append(history);
    }
    const forget = el("button", "button-link", t("status.forget"));
    forget.type = "button";
    forget.addEventListener("click", () => { forgetRequest(row.service_request_id); found.delete(row.service_request_id); render(); });
    li.append(forget);
    return li;
  }

  async function render() {
    for (const button of document.querySelectorAll("[data-filter]")) {
      button.setAttribute("aria-pressed", String(button.dataset.filter === filter));
    }
    const rows = [...found.values()].filter(FILTERS[filter])
      .sort((a, b) => String(b.requested_datetime).localeCompare(String(a.requested_datetime)));
    const cards = await Promise.all(rows.map(card));
    $("status-list").replaceChildren(...cards);
    const saved = savedRequests().length;
    $("status-message").textContent = !saved ? t("status.empty")
      : tCount("status.count", rows.length, { filter: t(`status.${filter}`) });
  }

  $("lookup-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("lookup-id");
    const error = $("lookup-error");
    const id = input.value.trim().replace(/^#/, "");
    const fail = (key) => {
      error.textContent = t(key);
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    };
    if (!/^\d{1,18}$/.test(id)) { fail("status.badNumber"); return; }
    try {
      const rows = await api.requests([id]);
      if (!rows.length) { fail("status.notFound"); return; }
      error.hidden = true;
      input.removeAttribute("aria-invalid");
      input.value = "";
      rememberRequest(id, rows[0].service_code);
      found.set(id, rows[0]);
      filter = "latest";
      await render();
    } catch {
      fail("status.failed");
    }
  });

  for (const button of document.querySelectorAll("[data-filter]")) {
    button.addEventListener("click", () => { filter = button.dataset.filter; render(); });
  }

  return { show: load, languageChanged: render };
}
