// ISO-8601 durations as used for stats buckets: days, hours, minutes, seconds (PT5M, PT1H, P1D,
// P1DT12H, PT30S). Years and months have no fixed length, so they are refused.
const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Seconds in an ISO-8601 duration, or undefined when it is not one (or is zero). */
export function parseDurationSeconds(value: string): number | undefined {
  const match = DURATION.exec(value.trim().toUpperCase());
  if (!match || value.trim().toUpperCase().endsWith('T')) return undefined;
  const [, weeks, days, hours, minutes, seconds] = match.map((part) => (part === undefined ? 0 : Number(part)));
  const total =
    (weeks ?? 0) * 604_800 + (days ?? 0) * 86_400 + (hours ?? 0) * 3_600 + (minutes ?? 0) * 60 + (seconds ?? 0);
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}
