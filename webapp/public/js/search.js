// Search of the catalog: ranked by where a word is found (name, then keywords, then group, then description),
// tolerant of case, accents and typos, in the interface language. Pure functions (tested with node --test).

// How much a word found in each field counts.
const WEIGHTS = { name: 8, keywords: 4, group: 2, description: 1 };
// How well a word was found: the whole word, the start of a word, inside the text, within a typo or two.
const QUALITY = { word: 1, prefix: 0.85, inside: 0.7, typo: 0.55 };

/** Lower case without accents or width variants, so "Grafiti" finds "grafiti" and "jardin" finds "jardín". */
export function fold(text, lang) {
  const plain = String(text || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  try { return plain.toLocaleLowerCase(lang || undefined); } catch { return plain.toLowerCase(); }
}

/** The words of a text (letters and digits of any script; punctuation and spaces split). */
export function words(text, lang) {
  return fold(text, lang).split(/[\p{P}\p{S}\p{Z}\s]+/u).filter(Boolean);
}

/** Levenshtein distance, stopping early once it exceeds `limit`. */
export function distance(a, b, limit = 2) {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
      best = Math.min(best, row[j]);
    }
    if (best > limit) return limit + 1;
    previous = row;
  }
  return previous[b.length];
}

/** How many typos a word of this length may carry (none below 4 letters, one up to 7, two from 8). */
function allowed(word) { return word.length >= 8 ? 2 : word.length >= 4 ? 1 : 0; }

/** How well one query word is found in a field's text (0 when not at all). */
function quality(word, text, tokens) {
  if (tokens.includes(word)) return QUALITY.word;
  if (tokens.some((t) => t.startsWith(word))) return QUALITY.prefix;
  if (text.includes(word)) return QUALITY.inside;   // scripts written without spaces (Chinese, Japanese, Thai ...)
  const limit = allowed(word);
  if (limit && tokens.some((t) => distance(word, t, limit) <= limit
      || (t.length > word.length && distance(word, t.slice(0, word.length), limit) <= limit))) return QUALITY.typo;
  return 0;
}

/** The fields of a service as folded text and words. */
function fieldsOf(service, lang) {
  const raw = { name: service.service_name, keywords: service.keywords, group: service.group,
    description: service.description };
  return Object.entries(raw).map(([field, value]) => [field, fold(value, lang), words(value, lang)]);
}

/** A service's score for a query (0: it does not match: every word must be found somewhere). */
export function score(service, query, lang) {
  const wanted = words(query, lang);
  if (!wanted.length) return 1;
  const fields = fieldsOf(service, lang);
  let total = 0;
  for (const word of wanted) {
    let best = 0;
    for (const [field, text, tokens] of fields) best = Math.max(best, WEIGHTS[field] * quality(word, text, tokens));
    if (!best) return 0;
    total += best;
  }
  const name = fold(service.service_name, lang);
  if (name.startsWith(fold(query, lang).trim())) total += WEIGHTS.name;   // the name begins with what was typed
  return total;
}

/** The services matching a query, best first (ties by name in the language's order). */
export function rank(services, query, lang) {
  const collator = new Intl.Collator(lang || undefined);
  return services.map((service) => [score(service, query, lang), service])
    .filter(([found]) => found > 0)
    .sort((a, b) => b[0] - a[0] || collator.compare(a[1].service_name, b[1].service_name))
    .map(([, service]) => service);
}
