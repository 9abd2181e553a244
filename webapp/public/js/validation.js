// Checks of one answer, the same rules as the gateway's (docs/api.md): a problem key for t(), or null.
export const MAX_STRING = 1000;
export const MAX_TEXT = 4000;
const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const LINE_BREAK = /[\n\r\u0085\u2028\u2029]/;
const DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?)?$/;

/** Is the answer empty (nothing typed, nothing chosen)? */
export function isEmpty(value) {
  return value == null || (Array.isArray(value) ? value.length === 0 : String(value).trim() === "");
}

/**
 * Check an answer to an attribute of a service definition.
 * @param {{datatype: string, required: boolean, variable: boolean, values: {key: string}[]}} attribute
 * @param {string | string[]} value  text, or the chosen keys of a multivaluelist
 * @returns {string | null} the key of the problem's text (validation.*), or null when the answer is fine
 */
export function checkAnswer(attribute, value) {
  if (attribute.variable === false) return null;
  if (isEmpty(value)) return attribute.required ? "validation.required" : null;
  const keys = new Set((attribute.values || []).map((v) => v.key));
  switch (attribute.datatype) {
    case "string":
      if (LINE_BREAK.test(value)) return "validation.oneLine";
      return value.trim().length > MAX_STRING ? "validation.tooLong" : null;
    case "text":
      return value.trim().length > MAX_TEXT ? "validation.tooLong" : null;
    case "number":
      return DECIMAL.test(String(value).trim()) && Number.isFinite(Number(value)) ? null : "validation.number";
    case "datetime":
      return DATE.test(String(value).trim()) && !Number.isNaN(Date.parse(value)) ? null : "validation.datetime";
    case "singlevaluelist":
      return keys.has(value) ? null : "validation.choice";
    case "multivaluelist":
      return [].concat(value).every((v) => keys.has(v)) ? null : "validation.choice";
    default:
      return null;
  }
}

/**
 * Check the contact e-mail field.
 * @param {string} value  what is typed
 * @param {{valid?: boolean, notify?: boolean}} options  the browser's own address check; e-mail notices asked for
 * @returns {string | null} the key of the problem's text (validation.*), or null
 */
export function checkEmail(value, { valid = true, notify = false } = {}) {
  if (isEmpty(value)) return notify ? "validation.notifyEmail" : null;
  return valid ? null : "validation.email";
}
