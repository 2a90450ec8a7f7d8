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
