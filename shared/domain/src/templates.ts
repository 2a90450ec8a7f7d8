/** SPEC §2 template identity rules. */
export const TEMPLATE_KEY_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
export const LOCALE_PATTERN = /^[a-z]{2}(-[a-z0-9]{2,8})?$/;
export const TEMPLATE_TITLE_MAX = 200;
export const TEMPLATE_BODY_MAX = 4000;
export const SMS_BODY_MAX = 2000;
/** Bytes (UTF-8) of one SMS part; a longer body is sent multi-part (SPEC §2). */
export const SMS_SEGMENT_BYTES = 90;

/** `" KO-KR "` → `"ko-kr"`; the stored and looked-up form of a locale. */
export function normalizeLocale(locale: string): string {
  return locale.trim().toLowerCase();
}

// A placeholder is a single-brace identifier; anything else in braces (JSON, CSS) is literal text.
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Placeholder names in `template`, each once, in order of first appearance. */
export function placeholders(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/** Placeholders of the given templates that `variables` does not provide. */
export function missingVariables(templates: string[], variables: Record<string, string>): string[] {
  const names = [...new Set(templates.flatMap(placeholders))];
  return names.filter((name) => !Object.hasOwn(variables, name));
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * Replaces each `{name}` with `variables[name]`, leaving every other brace untouched. With
 * `html: true` (EMAIL bodies) the substituted values are HTML-escaped; the template itself is
 * the sender's markup and stays as written. Substituted values are never re-scanned, so a
 * value containing `{x}` is inserted literally. Throws if a placeholder has no value (check
 * with `missingVariables` first to answer 400).
 */
export function renderTemplate(template: string, variables: Record<string, string>, options: { html?: boolean } = {}): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    if (!Object.hasOwn(variables, name)) throw new RangeError(`missing template variable: ${name}`);
    const value = variables[name]!;
    return options.html ? escapeHtml(value) : value;
  });
}

/**
 * SMS parts a body needs: characters are packed greedily into parts of at most 90 UTF-8 bytes
 * and never split (a Korean syllable is 3 bytes). An empty body still is one message.
 */
export function smsSegments(body: string): number {
  let segments = 1;
  let used = 0;
  for (const char of body) {
    const code = char.codePointAt(0)!;
    const bytes = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (used + bytes > SMS_SEGMENT_BYTES) {
      segments += 1;
      used = 0;
    }
    used += bytes;
  }
  return segments;
}
