/**
 * Polls `probe` until it returns a value other than undefined/false, or throws after the
 * deadline with `description` (tests wait for conditions, never for fixed times).
 */
export async function pollUntil<T>(
  description: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for: ${description}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
