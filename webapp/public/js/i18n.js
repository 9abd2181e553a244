// Interface texts: assets/i18n/<lang>.json, applied to [data-i18n*] elements; t() for texts built in code.
const SUPPORTED = ["en", "es"];
const STORAGE_KEY = "open311.language";
let texts = {};
let fallback = {};
let current = "en";

/** The language to start in: the one chosen before, else the browser's first supported one, else English. */
export function initialLanguage(available = SUPPORTED) {
  const saved = safeStorage()?.getItem(STORAGE_KEY);
  if (saved && available.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const primary = String(tag).toLowerCase().split("-")[0];
    if (available.includes(primary)) return primary;
  }
  return "en";
}

function safeStorage() {
  try { return window.localStorage; } catch { return null; }
}

async function fetchTexts(lang) {
  const reply = await fetch(`assets/i18n/${lang}.json`, { headers: { Accept: "application/json" } });
  if (!reply.ok) throw new Error(`interface texts for ${lang}: HTTP ${reply.status}`);
  return reply.json();
}

/** Load a language (English stays loaded as the fallback for any missing text). */
export async function setLanguage(lang) {
  if (!Object.keys(fallback).length) fallback = await fetchTexts("en");
  texts = lang === "en" ? fallback : await fetchTexts(lang);
  current = lang;
  safeStorage()?.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
  applyTexts(document);
}

export function language() { return current; }

/** A text by key with {name} placeholders filled in. */
export function t(key, vars = {}) {
  const template = key.split(".").reduce((node, part) => node?.[part], texts)
    ?? key.split(".").reduce((node, part) => node?.[part], fallback) ?? key;
  return String(template).replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** A text that depends on a count: `key` + "One" when count is 1 (English and Spanish need no more). */
export function tCount(key, count, vars = {}) {
  return t(count === 1 ? `${key}One` : key, { ...vars, count });
}

/** Fill every element marked with data-i18n (text), data-i18n-placeholder or data-i18n-aria-label. */
export function applyTexts(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
}

/** Dates in the interface language. */
export function formatDate(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(current === "es" ? "es-US" : "en-US", { dateStyle: "medium", timeStyle: "short" })
    .format(date);
}

/** A distance in metres as km (or m below 1 km). */
export function formatDistance(metres) {
  if (metres == null) return "";
  const locale = current === "es" ? "es-US" : "en-US";
  if (metres < 1000) return `${Math.round(metres)} m`;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(metres / 1000)} km`;
}
