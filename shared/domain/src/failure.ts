/** Failure reasons start with a class word (SPEC §2). */
export const ERROR_CLASSES = ['transient', 'permanent', 'invalid_recipient'] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

export function failureReason(errorClass: ErrorClass, detail: string): string {
  return `${errorClass}: ${detail}`;
}

/** The reason's first word before ':' or a space ("transient: 503" -> "transient"). */
export function errorClassOf(reason: string | null | undefined): string | null {
  if (!reason) return null;
  const match = /^[^:\s]+/.exec(reason.trim());
  return match ? match[0] : null;
}
