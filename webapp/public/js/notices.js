// Notices to the resident (docs/notifications.md): which channels the gateway offers, what a POST asks for.

/** Does the gateway send e-mail notices? (config.json `notices`: the configured channels.) */
export function emailNoticesOn(settings) {
  return Array.isArray(settings?.notices) && settings.notices.includes("email");
}

/** The POST's `notify` field: "email" when the gateway sends e-mail and the resident ticked the box, else "". */
export function notifyValue(settings, { email = false } = {}) {
  return email && emailNoticesOn(settings) ? "email" : "";
}

/** The status page link of a POST answer (`status_url`), when it is an http(s) URL; else null. */
export function statusLink(answer) {
  const url = answer?.status_url;
  if (typeof url !== "string" || !url) return null;
  try {
    return ["http:", "https:"].includes(new URL(url).protocol) ? url : null;
  } catch {
    return null;
  }
}
