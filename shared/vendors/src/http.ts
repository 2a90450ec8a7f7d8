import type { ErrorClass } from '@hub/domain';
import { VendorError } from './types.ts';

/** fetch with a deadline; a timeout or network failure is a transient vendor error. */
export async function fetchWithTimeout(vendor: string, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const name = (err as { name?: string } | null)?.name;
    const detail = name === 'TimeoutError' ? `${vendor} did not answer within ${timeoutMs} ms` : `${vendor} unreachable`;
    throw new VendorError('transient', detail, { cause: err });
  }
}

/** The default reading of an HTTP status when the vendor's body says nothing more specific. */
export function classOfStatus(status: number): ErrorClass {
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  return 'permanent';
}

export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The wait a `Retry-After` header asks for (RFC 9110: delay-seconds or an HTTP-date), in ms;
 * undefined when absent or unreadable. A date in the past means "now" (0).
 */
export function retryAfterMs(response: Response, now: number = Date.now()): number | undefined {
  return parseRetryAfterMs(response.headers.get('retry-after'), now);
}

/** A `Retry-After` header's value in ms (for clients that do not hand out a fetch Response, as the AWS SDK). */
export function parseRetryAfterMs(header: string | null | undefined, now: number = Date.now()): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1_000;
  // An HTTP date names its day and month ("Thu, 01 Jan 2026 00:00:30 GMT"); Date.parse alone would take "-5" for a year.
  if (!/[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
