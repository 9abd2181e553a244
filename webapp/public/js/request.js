// Request: pick a category, place it, answer its questions, add details and photos, submit.
import * as api from "./api.js";
import { servicesNow } from "./catalog.js";
import { formatDate, language, local, t, tCount } from "./i18n.js";
import { createLocator } from "./locator.js";
import { emailNoticesOn, notifyValue, statusLink } from "./notices.js";
import { renderQuestions } from "./questions.js";
import { rememberRequest } from "./store.js";
import { fold, rank } from "./search.js";
import { checkEmail } from "./validation.js";

const MAX_PHOTOS = 3;
const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
const $ = (id) => document.getElementById(id);

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function createRequestScreen(settings) {
  const state = { services: [], offered: null, chosen: null, definition: null, questions: null, check: null,
    photos: [], key: newKey(), busy: false, done: null, errors: null };
  const locator = createLocator($("request-locator"), "request", settings, {
    onChange: (point) => { loadOffered(point); checkHere(); },
    mapLabel: t("map.pickLabel"),
  });
  $("notify-email-choice").hidden = !emailNoticesOn(settings);

  async function loadServices() {
    state.services = await servicesNow();
    renderGroups();
    renderList();
    if (state.chosen) {
      const again = state.services.find((s) => s.service_code === state.chosen.service_code);
      if (again) await choose(again, { focus: false });
    }
  }

  function renderGroups() {
    const select = $("service-group");
    const previous = select.value;
    const groups = [...new Set(state.services.map((s) => s.group).filter(Boolean))]
      .sort((a, b) => fold(a).localeCompare(fold(b)));
    select.replaceChildren(new Option(t("request.allGroups"), ""), ...groups.map((g) => new Option(g, g)));
    select.value = groups.includes(previous) ? previous : "";
  }

  function renderList() {
    const query = $("service-search").value.trim();
    const group = $("service-group").value;
    const inGroup = state.services.filter((s) => !group || s.group === group);
    // Searching: best match first in one list (search.js); browsing: by group, then name.
    const shown = query ? rank(inGroup, query, language())
      : inGroup.sort((a, b) => fold(a.group).localeCompare(fold(b.group)) || fold(a.service_name).localeCompare(fold(b.service_name)));
    const list = $("service-list");
    list.replaceChildren();
    let heading = query ? "" : null;
    let items = null;
    if (query) {
      items = document.createElement("ul");
      list.append(items);
    }
    for (const service of shown) {
      if (!query && service.group !== heading) {
        heading = service.group;
        const h = document.createElement("h3");
        h.textContent = heading || t("request.otherGroup");
        items = document.createElement("ul");
        list.append(h, items);
      }
      const button = document.createElement("button");
      button.type = "button";
      button.className = "service-option";
      button.dataset.code = service.service_code;
      const name = document.createElement("span");
      name.className = "service-name";
      name.textContent = service.service_name;
      button.append(name);
      if (state.offered && !state.offered.has(service.service_code)) {
        const badge = document.createElement("span");
        badge.className = "badge badge-muted";
        badge.textContent = t("request.notHere");
        button.append(" ", badge);
      }
      button.addEventListener("click", () => choose(service));
      const li = document.createElement("li");
      li.append(button);
      items.append(li);
    }
    $("service-count").textContent = tCount("request.count", shown.length);
  }

  async function choose(service, { focus = true } = {}) {
    state.chosen = service;
    $("service-picker").hidden = true;
    $("chosen-service").hidden = false;
    $("chosen-name").textContent = service.service_name;
    $("chosen-description").textContent = service.description || "";
    if (focus) $("change-service").focus();
    const definition = service.metadata ? await api.definition(service.service_code) : { attributes: [] };
    state.definition = definition;
    state.questions = renderQuestions($("questions"), definition.attributes || []);
    api.area(service.service_code).then((geojson) => locator.map()?.showArea(geojson)).catch(() => {});
    checkHere();
  }

  async function loadOffered(point) {
    try {
      const here = await api.services(point.lat, point.long);
      state.offered = new Set(here.map((s) => s.service_code));
    } catch {
      state.offered = new Set();
    }
    renderList();
  }

  async function checkHere() {
    const box = $("availability");
    const point = locator.point;
    state.check = null;
    if (!state.chosen || !point) { box.hidden = true; stopAtLocation(false); return; }
    const code = state.chosen.service_code;
    try {
      const check = await api.checkArea(code, point.lat, point.long);
      if (state.chosen?.service_code !== code || locator.point !== point) return;  // a newer choice won
      state.check = check;
      renderCheck();
    } catch (error) {
      state.check = { served: false, in_county: false, description: error.descriptions?.join(" ") };
      renderCheck();
    }
  }

  // Where the County does not take the request, the form stops at the location step: the details and Submit
  // are withheld, and the availability box names who does (the referral).
  function stopAtLocation(stop) {
    $("details-step").hidden = stop;
    $("submit").hidden = stop;
    $("submit").disabled = stop;
  }

  function renderCheck() {
    const box = $("availability");
    const check = state.check;
    stopAtLocation(Boolean(check && !check.served));
    if (!check) { box.hidden = true; return; }
    box.hidden = false;
    box.replaceChildren();
    box.className = `notice ${check.served ? "notice-ok" : "notice-warn"}`;
    const place = check.place ? (check.city ? t("availability.city", { city: check.city }) : check.place) : "";
    const p = document.createElement("p");
    const name = state.chosen.service_name;
    const jurisdiction = local(settings.jurisdiction_name);
    if (check.served) {
      p.textContent = t("availability.served", { service: name, jurisdiction, place });
      box.append(p);
      return;
    }
    if (check.in_county === false) {
      p.textContent = t("availability.outside", { jurisdiction });
      box.append(p);
      return;
    }
    p.textContent = t("availability.notServed", { service: name, jurisdiction, place });
    box.append(p);
    if (check.referral) box.append(referralBlock(check.referral));
    else if (check.description) {   // the gateway's own words, in the interface language (locale=)
      const d = document.createElement("p");
      d.textContent = check.description;
      box.append(d);
    }
    const stop = document.createElement("p");
    stop.className = "hint";
    stop.textContent = t("availability.stopped");
    box.append(stop);
  }

  function referralBlock(referral) {
    const div = document.createElement("div");
    div.className = "referral";
    const who = document.createElement("p");
    who.append(t("availability.contact"), " ");
    const strong = document.createElement("strong");
    strong.textContent = referral.agency;
    who.append(strong);
    div.append(who);
    const links = document.createElement("p");
    if (referral.phone) {
      const tel = document.createElement("a");
      tel.href = `tel:${referral.phone.replace(/[^0-9+]/g, "") || referral.phone}`;
      tel.textContent = referral.phone;
      links.append(tel, " ");
    }
    if (referral.url) {
      const a = document.createElement("a");
      a.href = referral.url;
      a.rel = "noopener";
      a.target = "_blank";
      a.textContent = t("availability.website");
      links.append(a);
    }
    if (links.childNodes.length) div.append(links);
    if (referral.note) {
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = referral.note;
      div.append(note);
    }
    return div;
  }

  function addPhotos(files) {
    const problems = [];
    for (const file of files) {
      if (state.photos.length >= MAX_PHOTOS) { problems.push(t("photos.tooMany", { max: MAX_PHOTOS })); break; }
      if (!PHOTO_TYPES.includes(file.type)) { problems.push(t("photos.type", { name: file.name })); continue; }
      if (file.size > MAX_PHOTO_BYTES) { problems.push(t("photos.size", { name: file.name })); continue; }
      state.photos.push({ file, url: URL.createObjectURL(file) });
    }
    renderPhotos(problems);
  }

  function renderPhotos(problems = []) {
    const list = $("photo-previews");
    list.replaceChildren();
    state.photos.forEach((photo, i) => {
      const li = document.createElement("li");
      const img = document.createElement("img");
      img.src = photo.url;
      img.alt = t("photos.preview", { number: i + 1, name: photo.file.name });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button-link";
      remove.textContent = t("photos.remove", { number: i + 1 });
      remove.addEventListener("click", () => {
        URL.revokeObjectURL(photo.url);
        state.photos.splice(i, 1);
        renderPhotos();
        $("photos").focus();
      });
      li.append(img, remove);
      list.append(li);
    });
    for (const problem of problems) {
      const li = document.createElement("li");
      li.className = "field-error";
      li.textContent = problem;
      list.append(li);
    }
  }

  // `from`: "form" (the page's own checks, re-run in a new language) or "server" (the gateway's answer).
  function showErrors(problems, { focus = true, from = "form" } = {}) {
    state.errors = problems.length ? from : null;
    const box = $("request-errors");
    box.replaceChildren();
    if (!problems.length) { box.hidden = true; return; }
    const h = document.createElement("h2");
    h.textContent = t("request.fix");
    const ul = document.createElement("ul");
    for (const problem of problems) {
      const li = document.createElement("li");
      if (problem.id) {
        const a = document.createElement("a");
        a.href = `#${problem.id}`;
        a.textContent = problem.message;
        a.addEventListener("click", (event) => {
          event.preventDefault();
          const target = document.getElementById(problem.id);
          const folded = target?.closest("details");
          if (folded) folded.open = true;   // the contact details may have been folded away again
          target?.focus();
        });
        li.append(a);
      } else {
        li.textContent = problem.message;
      }
      ul.append(li);
    }
    box.append(h, ul);
    box.hidden = false;
    if (focus) box.focus();
  }

  // Once errors are shown, each correction clears its message at once (the summary follows).
  function recheck() {
    if (!$("request-errors").hidden) showErrors(validate(), { focus: false });
  }

  function validate() {
    const problems = [];
    if (!state.chosen) problems.push({ id: "service-search", message: t("request.needService") });
    if (!locator.point) problems.push({ id: "request-address", message: t("request.needPlace") });
    else if (state.check && !state.check.served) problems.push({ id: "availability", message: t("request.notServed") });
    if (state.questions) problems.push(...state.questions.validate());
    const email = $("email");
    const problem = checkEmail(email.value, { valid: email.checkValidity(), notify: notifyWanted() });
    const error = $("email-error");
    error.hidden = !problem;
    error.textContent = problem ? t(problem) : "";
    email.setAttribute("aria-invalid", problem ? "true" : "false");
    if (problem) problems.push({ id: "email", message: t(problem) });
    return problems;
  }

  // The box counts only where it is offered (config.json's notices list "email").
  function notifyWanted() {
    return notifyValue(settings, { email: $("notify-email").checked }) === "email";
  }

  function formData() {
    const form = new FormData();
    const point = locator.point;
    form.set("service_code", state.chosen.service_code);
    form.set("lat", point.lat.toFixed(6));
    form.set("long", point.long.toFixed(6));
    if (point.address) form.set("address_string", point.address);
    for (const [code, value] of Object.entries(state.questions?.answers() || {})) {
      if (Array.isArray(value)) value.forEach((v) => form.append(`attribute[${code}][]`, v));
      else form.set(`attribute[${code}]`, String(value).trim());
    }
    for (const name of ["description", "first_name", "last_name", "email", "phone"]) {
      const value = $(name).value.trim();
      if (value) form.set(name, value);
    }
    if (notifyWanted()) form.set("notify", "email");
    for (const photo of state.photos) form.append("media", photo.file, photo.file.name);
    return form;
  }

  async function submit(event) {
    event.preventDefault();
    if (state.busy) return;
    const problems = validate();
    showErrors(problems);
    if (problems.length) return;
    state.busy = true;
    $("submit").disabled = true;
    $("submit").textContent = t("request.sending");
    try {
      const answer = await api.submitRequest(formData(), state.key);
      const id = answer.service_request_id;
      if (id) rememberRequest(id, state.chosen.service_code);
      let expected = null;
      if (id) {
        try { expected = (await api.requests([id]))[0]?.expected_datetime; } catch { expected = null; }
      }
      showDone({ id, token: answer.token, notice: answer.service_notice, expected, statusUrl: statusLink(answer) });
      state.key = newKey();
    } catch (error) {
      const messages = error.descriptions || [t("request.failed")];
      showErrors(messages.map((message) => ({ message })), { from: "server" });
    } finally {
      state.busy = false;
      $("submit").disabled = false;
      $("submit").textContent = t("request.submit");
    }
  }

  function showDone(done, { focus = true } = {}) {
    state.done = done;
    const { id, notice, expected, statusUrl } = done;
    const box = $("request-done");
    box.replaceChildren();
    const h = document.createElement("h2");
    h.textContent = t("done.title");
    const number = document.createElement("p");
    number.className = "request-number";
    if (id) {
      number.append(t("done.number"), " ");
      const strong = document.createElement("strong");
      strong.id = "done-id";
      strong.textContent = id;
      number.append(strong);
    } else {
      number.textContent = t("done.noNumber");
    }
    const next = document.createElement("h3");
    next.textContent = t("done.next");
    box.append(h, number, next);
    if (notice) {
      const p = document.createElement("p");
      p.id = "done-notice";
      p.textContent = notice;
      box.append(p);
    }
    if (expected) {
      const p = document.createElement("p");
      p.textContent = t("done.expected", { date: formatDate(expected) });
      box.append(p);
    }
    if (statusUrl) {   // the report's own status page (/r/<token>: history, follow by e-mail, "not fixed")
      const p = document.createElement("p");
      const a = document.createElement("a");
      a.id = "done-status-page";
      a.href = statusUrl;
      a.textContent = t("done.statusPage");
      p.append(a);
      box.append(p);
    }
    const actions = document.createElement("p");
    actions.className = "actions";
    const status = document.createElement("a");
    status.href = "#status";
    status.className = "button-primary";
    status.textContent = t("done.status");
    const again = document.createElement("button");
    again.type = "button";
    again.className = "button-secondary";
    again.textContent = t("done.another");
    again.addEventListener("click", reset);
    actions.append(status, " ", again);
    box.append(actions);
    $("request-form").hidden = true;
    box.hidden = false;
    if (focus) box.focus();
  }

  function reset() {
    state.done = null;
    $("request-form").reset();
    $("email-error").hidden = true;
    $("email").setAttribute("aria-invalid", "false");
    $("email").setAttribute("aria-required", "false");
    $("request-form").hidden = false;
    $("request-done").hidden = true;
    state.photos.forEach((p) => URL.revokeObjectURL(p.url));
    state.photos = [];
    renderPhotos();
    state.chosen = null;
    state.questions = null;
    $("questions").replaceChildren();
    $("chosen-service").hidden = true;
    $("service-picker").hidden = false;
    $("availability").hidden = true;
    renderList();
    $("service-search").focus();
  }

  $("service-search").addEventListener("input", renderList);
  $("service-group").addEventListener("change", renderList);
  $("change-service").addEventListener("click", () => {
    $("service-picker").hidden = false;
    $("chosen-service").hidden = true;
    $("service-search").focus();
  });
  // Ticked, the e-mail address is needed: say so to assistive technology too.
  $("notify-email").addEventListener("change", (event) => {
    $("email").setAttribute("aria-required", event.target.checked ? "true" : "false");
  });
  $("photos").addEventListener("change", (event) => { addPhotos([...event.target.files]); event.target.value = ""; });
  $("request-form").addEventListener("submit", submit);
  $("request-form").addEventListener("change", recheck);
  $("request-form").addEventListener("input", recheck);

  return {
    async show() { locator.show(); if (!state.services.length) await loadServices(); },
    async languageChanged() {
      locator.refresh();
      await loadServices();
      await checkHere();   // the gateway words its answer in the new language
      renderPhotos();
      // the page's own checks are re-run in the new language; the gateway's answer was in the old one: dropped
      if (state.errors === "form") showErrors(validate(), { focus: false });
      else if (state.errors === "server") showErrors([], { focus: false });
      if (state.done) showDone(state.done, { focus: false });
    },
  };
}
