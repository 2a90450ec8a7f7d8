import { SegmentedMessage } from 'sms-segments-calculator';

/** SPEC §2 template identity rules. */
export const TEMPLATE_KEY_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
export const LOCALE_PATTERN = /^[a-z]{2}(-[a-z0-9]{2,8})?$/;
export const TEMPLATE_TITLE_MAX = 200;
export const TEMPLATE_BODY_MAX = 4000;
/** Characters of an SMS body, template or rendered: Twilio refuses longer ones (error 21617, SPEC §2). */
export const SMS_BODY_MAX = 1600;
/** Characters of an EMAIL template's HTML body: room for markup around a 4000-character text. */
export const TEMPLATE_HTML_BODY_MAX = 100_000;

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
 * `html: true` (the HTML body of an EMAIL template, and nothing else: a text body or a subject
 * shows the values as given, SPEC §2) the substituted values are HTML-escaped; the template itself is
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
 * Bodies made only of the GSM 03.38 basic set, one septet per character (CR and LF included:
 * the library counts a CRLF as two). The extension set (`[\]^{|}~€`, form feed) takes two
 * septets and a part never splits one: such bodies, like UCS-2 ones, go to the library.
 */
const GSM7_BASIC_ONLY = /^[\r\n !"#$%&'()*+,\-.\/0-9:;<=>?@A-Z_a-z¡£¤¥§¿ÄÅÆÇÉÑÖØÜßàäåæèéìñòöøùüΓΔΘΛΞΠΣΦΨΩ]*$/;

/**
 * SMS parts a body needs, counted the way carriers do: GSM-7 when every character is in the
 * GSM 03.38 alphabet (extension characters such as € take two septets), else UCS-2; one part
 * holds 160 septets or 70 UCS-2 units, a concatenated one 153 or 67 (the rest is its UDH).
 * Twilio's own calculator (sms-segments-calculator) does the counting. An empty body still is
 * one message.
 */
export function smsSegments(body: string): number {
  // Most bodies are plain GSM-7 text, where the count is arithmetic; the library's grapheme
  // splitting costs more than the rest of an SMS attempt's row.
  if (GSM7_BASIC_ONLY.test(body)) return body.length <= 160 ? 1 : Math.ceil(body.length / 153);
  return Math.max(1, new SegmentedMessage(body).segmentsCount);
}

