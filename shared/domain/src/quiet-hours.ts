/** A quiet-hours window `[start, end)` in minutes after local midnight; start > end wraps midnight. */
export interface QuietWindow {
  start: string;
  end: string;
}

export const HH_MM_PATTERN = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** `"22:30"` → 1350. Throws on anything but a valid 24-hour `HH:mm`. */
export function minutesOfDay(hhmm: string): number {
  const match = HH_MM_PATTERN.exec(hhmm);
  if (!match) throw new RangeError(`not a HH:mm time: ${hhmm}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone name this runtime knows (e.g. `Asia/Seoul`). */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.trim() === '' || timeZone !== timeZone.trim()) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock time in `timeZone` at `instant`. */
export function wallClock(instant: Date, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** A wall-clock time read as if it were UTC: a number that orders local times within one zone. */
function wallAsUtc(w: WallClock): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/** Offset of `timeZone` from UTC at `instantMs`, in ms (Seoul: +9 h). */
function offsetMs(instantMs: number, timeZone: string): number {
  const instantSeconds = Math.floor(instantMs / 1000) * 1000;
  return wallAsUtc(wallClock(new Date(instantSeconds), timeZone)) - instantSeconds;
}

/**
 * The first instant at which the wall clock in `timeZone` shows `wallMs` (a local time encoded
 * as UTC) or later. In a DST gap (the local time does not exist) that is the moment the clock
 * jumps over it; in a DST overlap (it exists twice) it is the earlier of the two.
 */
export function instantOfWallTime(wallMs: number, timeZone: string): Date {
  const HOUR = 3_600_000;
  const candidates = [offsetMs(wallMs - 14 * HOUR, timeZone), offsetMs(wallMs + 14 * HOUR, timeZone)]
    .map((offset) => wallMs - offset)
    .filter((candidate) => wallAsUtc(wallClock(new Date(candidate), timeZone)) === wallMs)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return new Date(candidates[0]!);
  // Gap: binary-search the first second whose wall clock is at or past the wanted time.
  let low = wallMs - 14 * HOUR;
  let high = wallMs + 14 * HOUR;
  while (high - low > 1000) {
    const mid = Math.floor((low + high) / 2000) * 1000;
    if (wallAsUtc(wallClock(new Date(mid), timeZone)) >= wallMs) high = mid;
    else low = mid;
  }
  return new Date(high);
}

/** Whether `instant` falls inside `window` on the wall clock of `timeZone`. */
export function isInQuietHours(window: QuietWindow, timeZone: string, instant: Date): boolean {
  const start = minutesOfDay(window.start);
  const end = minutesOfDay(window.end);
  const w = wallClock(instant, timeZone);
  const now = w.hour * 60 + w.minute;
  return start < end ? now >= start && now < end : now >= start || now < end;
}

/**
 * When the quiet hours that contain `instant` end: the next time the wall clock of `timeZone`
 * reaches `window.end`. Only meaningful while `isInQuietHours` is true.
 */
export function quietHoursEnd(window: QuietWindow, timeZone: string, instant: Date): Date {
  const end = minutesOfDay(window.end);
  const w = wallClock(instant, timeZone);
  const now = w.hour * 60 + w.minute;
  // Before the end minute today → today; otherwise (a window wrapping midnight, evening part) tomorrow.
  const dayOffset = now < end ? 0 : 1;
  const wall = Date.UTC(w.year, w.month - 1, w.day + dayOffset, Math.floor(end / 60), end % 60, 0);
  return instantOfWallTime(wall, timeZone);
}
