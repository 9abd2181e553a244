// The public API (GeoReport v2 plus the gateway's documented extensions): nothing else is called.
import { language } from "./i18n.js";

let settings = null;

/** Remember the gateway's settings (config.json): API base, jurisdiction, key. */
export function configure(config) { settings = config; }
export function config() { return settings; }

/** An API error: the HTTP status and the spec's error descriptions. */
export class ApiError extends Error {
  constructor(status, descriptions) {
    super(descriptions.join(" "));
    this.status = status;
    this.descriptions = descriptions;
  }
}

function url(path, params = {}) {
  const target = new URL(settings.api + path, document.baseURI);
  if (settings.jurisdiction_id) target.searchParams.set("jurisdiction_id", settings.jurisdiction_id);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(name, value);
  }
  return target;
}

async function read(reply) {
  let body = null;
  try { body = await reply.json(); } catch { body = null; }
  if (!reply.ok) {
    const descriptions = Array.isArray(body) ? body.map((e) => e.description).filter(Boolean) : [];
    throw new ApiError(reply.status, descriptions.length ? descriptions : [`HTTP ${reply.status}`]);
  }
  return body;
}

/** GET a JSON resource. */
export async function getJson(path, params = {}) {
  const reply = await fetch(url(path, params), { headers: { Accept: "application/json" } });
  return read(reply);
}

/** The catalog in the interface language. */
export const services = (lat, long) => getJson("services.json", { locale: language(), lat, long });
export const definition = (code) => getJson(`services/${encodeURIComponent(code)}.json`, { locale: language() });
export const locations = (q) => getJson("locations.json", { q, limit: 8, locale: language() });
export const geocode = (address) => getJson("geocode.json", { address, locale: language() });
export const checkArea = (code, lat, long) => getJson(`areas/${encodeURIComponent(code)}/check.json`,
  { lat, long, locale: language() });
export const area = (code) => getJson(`areas/${encodeURIComponent(code)}.geojson`);
export const facilities = (params) => getJson("facilities.json", params);
export const requests = (ids) => getJson("requests.json", { service_request_id: ids.join(","), extensions: "true" });

/** POST a request as multipart/form-data (photos as `media` parts); the Idempotency-Key makes a retry safe.
 * `extensions=true` asks for the answer's extension fields: `status_url`, the report's status page. */
export async function submitRequest(form, idempotencyKey) {
  if (settings.api_key) form.set("api_key", settings.api_key);
  if (settings.jurisdiction_id) form.set("jurisdiction_id", settings.jurisdiction_id);
  const reply = await fetch(url("requests.json", { locale: language(), extensions: "true" }), {
    method: "POST", body: form, headers: { Accept: "application/json", "Idempotency-Key": idempotencyKey },
  });
  const body = await read(reply);
  return body[0];
}
