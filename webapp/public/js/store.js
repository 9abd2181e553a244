// The requests this browser submitted or looked up, kept in localStorage (numbers only: no personal data).
const KEY = "open311.requests";
const MAX = 100;

function storage() {
  try { return window.localStorage; } catch { return null; }
}

/** [{id, service_code, at}] newest first. */
export function savedRequests() {
  try {
    const list = JSON.parse(storage()?.getItem(KEY) || "[]");
    return Array.isArray(list) ? list.filter((r) => r && /^\d+$/.test(String(r.id))) : [];
  } catch {
    return [];
  }
}

/** Remember a request number (moved to the top when already known). */
export function rememberRequest(id, serviceCode = null) {
  const list = savedRequests().filter((r) => String(r.id) !== String(id));
  list.unshift({ id: String(id), service_code: serviceCode, at: new Date().toISOString() });
  storage()?.setItem(KEY, JSON.stringify(list.slice(0, MAX)));
}

/** Forget one request number. */
export function forgetRequest(id) {
  storage()?.setItem(KEY, JSON.stringify(savedRequests().filter((r) => String(r.id) !== String(id))));
}
