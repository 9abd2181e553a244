// Interface texts: assets/i18n/<lang>.json (en.json as written, any other built by the gateway from its gettext
// catalog webapp/locale/<lang>/LC_MESSAGES/webapp.po), applied to [data-i18n*] elements; t() for texts built in code.
// The County's threshold languages (its Language Access Plans), Chinese in both scripts.
const SUPPORTED = ["en", "es", "ar", "hy", "zh-Hans", "zh-Hant", "fa", "hi", "ja", "km", "ko", "ru", "tl", "th", "vi"];
const RIGHT_TO_LEFT = ["ar", "fa"];
// Tags a browser may send for one of ours (navigator.languages): Chinese by region, Filipino for Tagalog.
const ALIASES = { zh: "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant",
  "zh-mo": "zh-Hant", fil: "tl" };
const STORAGE_KEY = "open311.language";
let texts = {};
let fallback = {};
let current = "en";

/** The language to start in: the one chosen before, else the browser's first supported one, else English. */
export function initialLanguage(available = SUPPORTED) {
  const saved = safeStorage()?.getItem(STORAGE_KEY);
  if (saved && available.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const found = matchLanguage(tag, available);
    if (found) return found;
  }
  return "en";
}

/** The available language a BCP 47 tag names (es-MX -> es, zh-TW -> zh-Hant, zh-Hans-CN -> zh-Hans), or null. */
export function matchLanguage(tag, available = SUPPORTED) {
  const byLower = new Map(available.map((a) => [a.toLowerCase(), a]));
  let wanted = String(tag).toLowerCase().replace(/_/g, "-");
  while (wanted) {
    if (byLower.has(wanted)) return byLower.get(wanted);
    const alias = ALIASES[wanted];
    if (alias && byLower.has(alias.toLowerCase())) return byLower.get(alias.toLowerCase());
    wanted = wanted.includes("-") ? wanted.slice(0, wanted.lastIndexOf("-")) : "";
  }
  return null;
}

/** "rtl" for Arabic and Farsi, else "ltr". */
export function direction(lang = current) { return RIGHT_TO_LEFT.includes(lang.split("-")[0]) ? "rtl" : "ltr"; }

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
  document.documentElement.dir = direction(lang);
  applyTexts(document);
}

let ownTexts = {};
/** The jurisdiction's own texts per language (config.json `texts`: its name, departments, referrals). */
export function setOwnTexts(texts) { ownTexts = texts || {}; }
/** One of the jurisdiction's own texts (sent in English by the API) in the interface language. */
export function local(text) { return (text && ownTexts[current]?.[text]) || text; }

export function language() { return current; }

/** A text by key with {name} placeholders filled in. */
export function t(key, vars = {}) {
  const template = key.split(".").reduce((node, part) => node?.[part], texts)
    ?? key.split(".").reduce((node, part) => node?.[part], fallback) ?? key;
  return String(template).replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** A text that depends on a count, by the language's plural rules (Intl.PluralRules): `key` + "One", "Two",
 * "Few", "Many" or "Zero" where the language file has that form, else `key` (the "other" form). */
export function tCount(key, count, vars = {}) {
  const form = new Intl.PluralRules(intlLocale()).select(count);
  const suffix = form === "other" ? "" : form[0].toUpperCase() + form.slice(1);
  const has = (k) => k.split(".").reduce((node, part) => node?.[part], texts) !== undefined;
  const chosen = suffix && has(`${key}${suffix}`) ? `${key}${suffix}` : key;
  return t(chosen, { ...vars, count: new Intl.NumberFormat(intlLocale()).format(count) });
}

/** The locale Intl formats in: the United States' Spanish and English, else the language itself. */
export function intlLocale(lang = current) { return lang === "es" ? "es-US" : lang === "en" ? "en-US" : lang; }

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
  return new Intl.DateTimeFormat(intlLocale(), { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** A distance in metres as km (or m below 1 km). */
export function formatDistance(metres) {
  if (metres == null) return "";
  const locale = intlLocale();
  if (metres < 1000) return `${new Intl.NumberFormat(locale).format(Math.round(metres))} m`;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(metres / 1000)} km`;
}
