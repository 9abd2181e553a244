// The service catalog in the interface language, fetched once per language.
import * as api from "./api.js";
import { language } from "./i18n.js";

const loaded = new Map();

/** Every service of the jurisdiction in the current language. */
export async function servicesNow() {
  const lang = language();
  if (!loaded.has(lang)) loaded.set(lang, api.services().catch((error) => { loaded.delete(lang); throw error; }));
  return loaded.get(lang);
}

/** A service's name in the current language (the stored English name until the catalog is loaded). */
export async function serviceName(code, fallback) {
  try {
    const found = (await servicesNow()).find((s) => s.service_code === code);
    return found ? found.service_name : fallback;
  } catch {
    return fallback;
  }
}
