// The resident web app: loads the gateway's settings, the interface language, and routes between screens.
import * as api from "./api.js";
import { initialLanguage, language, local, setLanguage, setOwnTexts, t } from "./i18n.js";
import { createLocateScreen } from "./locate.js";
import { createRequestScreen } from "./request.js";
import { createStatusScreen } from "./status.js";

const SCREENS = ["request", "status", "locate"];
const $ = (id) => document.getElementById(id);
let screens = {};
let firstRoute = true;

function whenLeafletLoaded() {
  // leaflet.js is a deferred classic script: it has run by DOMContentLoaded (or failed to load).
  return document.readyState === "loading"
    ? new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }))
    : Promise.resolve();
}

async function route() {
  const name = SCREENS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "request";
  for (const screen of SCREENS) {
    $(`screen-${screen}`).hidden = screen !== name;
    const link = document.querySelector(`[data-screen="${screen}"]`);
    if (screen === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${t(`nav.${name}`)} · ${t("app.name")} · ${local(api.config().jurisdiction_name)}`;
  if (!firstRoute) $(`${name}-title`).focus();
  firstRoute = false;
  await screens[name].show();
}

async function changeLanguage(lang) {
  await setLanguage(lang);
  $("jurisdiction-name").textContent = local(api.config().jurisdiction_name);
  document.title = `${t("app.name")} · ${local(api.config().jurisdiction_name)}`;
  for (const screen of Object.values(screens)) await screen.languageChanged();
  await route();
}

async function start() {
  const reply = await fetch("config.json", { headers: { Accept: "application/json" } });
  if (!reply.ok) throw new Error(`config.json: HTTP ${reply.status}`);
  const settings = await reply.json();
  api.configure(settings);
  setOwnTexts(settings.texts);
  const available = settings.locales?.length ? settings.locales : ["en"];
  const select = $("language");
  for (const option of [...select.options]) if (!available.includes(option.value)) option.remove();
  await setLanguage(initialLanguage(available));
  select.value = language();
  $("jurisdiction-name").textContent = local(settings.jurisdiction_name);
  await whenLeafletLoaded();
  for (const heading of SCREENS.map((s) => $(`${s}-title`))) heading.tabIndex = -1;
  screens = { request: createRequestScreen(settings), status: createStatusScreen(), locate: createLocateScreen(settings) };
  select.addEventListener("change", () => changeLanguage(select.value));
  window.addEventListener("hashchange", route);
  $("loading").hidden = true;
  await route();
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  console.error(error.stack);
  $("loading").hidden = true;
  const box = $("app-error");
  box.textContent = `${t("app.failed")} (${error.message})`;
  box.hidden = false;
});
