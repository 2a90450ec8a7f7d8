import fc from 'fast-check';
import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_QUIET_HOURS,
  effectivePreferences,
  instantOfWallTime,
  isInQuietHours,
  isValidAddress,
  isValidTimeZone,
  maskAddress,
  minutesOfDay,
  missingVariables,
  normalizeLocale,
  placeholders,
  quietHoursEnd,
  renderTemplate,
  resolveChannels,
  smsSegments,
  LOCALE_PATTERN,
  TEMPLATE_KEY_PATTERN,
  type EffectivePreferences,
  type Kind,
  type ResolveInput,
} from './index.ts';

describe('isValidAddress', () => {
  it.each([
    ['EMAIL', 'a@b.co', true],
    ['EMAIL', 'user.name+tag@example.com', true],
    ['EMAIL', 'no-at-sign.example.com', false],
    ['EMAIL', 'a@b', false],
    ['EMAIL', 'a b@c.de', false],
    ['EMAIL', ' a@b.co', false],
    ['EMAIL', '', false],
    ['SMS', '+821012345678', true],
    ['SMS', '+12345678', true],
    ['SMS', '+1234567', false],
    ['SMS', '+1234567890123456', false],
    ['SMS', '01012345678', false],
    ['KAKAO_ALIMTALK', '+821012345678', true],
    ['KAKAO_ALIMTALK', '+82-10-1234-5678', false],
    ['PUSH', 'x'.repeat(32), true],
    ['PUSH', 'x'.repeat(256), true],
    ['PUSH', 'x'.repeat(31), false],
    ['PUSH', 'x'.repeat(257), false],
    ['PUSH', `${'x'.repeat(20)} ${'x'.repeat(20)}`, false],
  ] as const)('%s %j → %s', (channel, address, valid) => {
    expect(isValidAddress(channel, address)).toBe(valid);
  });
});

describe('maskAddress', () => {
  it('keeps the first and last two characters behind the channel type', () => {
    expect(maskAddress('EMAIL', 'user@example.com')).toBe('EMAIL:us***om');
    expect(maskAddress('SMS', '+821012345678')).toBe('SMS:+8***78');
  });

  it('hides addresses of four characters or fewer completely', () => {
    expect(maskAddress('PUSH', 'abcd')).toBe('PUSH:****');
    expect(maskAddress('PUSH', 'abcde')).toBe('PUSH:ab***de');
  });
});

describe('time zones and quiet hours', () => {
  it('recognises IANA zone names and rejects others', () => {
    expect(isValidTimeZone('Asia/Seoul')).toBe(true);
    expect(isValidTimeZone('America/New_York')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
    expect(isValidTimeZone(' Asia/Seoul')).toBe(false);
  });

  it('parses HH:mm and rejects anything else', () => {
    expect(minutesOfDay('00:00')).toBe(0);
    expect(minutesOfDay('23:59')).toBe(1439);
    for (const bad of ['24:00', '7:00', '12:60', '12-00', '']) expect(() => minutesOfDay(bad)).toThrow(RangeError);
  });

  const seoul = 'Asia/Seoul'; // UTC+9, no DST
  const at = (iso: string) => new Date(iso);

  it('treats a window wrapping midnight as [start, 24:00) ∪ [00:00, end)', () => {
    const w = { start: '22:00', end: '08:00' };
    expect(isInQuietHours(w, seoul, at('2026-03-10T12:59:00Z'))).toBe(false); // 21:59
    expect(isInQuietHours(w, seoul, at('2026-03-10T13:00:00Z'))).toBe(true); // 22:00
    expect(isInQuietHours(w, seoul, at('2026-03-10T15:00:00Z'))).toBe(true); // 00:00
    expect(isInQuietHours(w, seoul, at('2026-03-10T22:59:00Z'))).toBe(true); // 07:59
    expect(isInQuietHours(w, seoul, at('2026-03-10T23:00:00Z'))).toBe(false); // 08:00 (end exclusive)
  });

  it('treats a same-day window as [start, end)', () => {
    const w = { start: '13:00', end: '14:30' };
    expect(isInQuietHours(w, seoul, at('2026-03-10T03:59:00Z'))).toBe(false); // 12:59
    expect(isInQuietHours(w, seoul, at('2026-03-10T04:00:00Z'))).toBe(true); // 13:00
    expect(isInQuietHours(w, seoul, at('2026-03-10T05:29:00Z'))).toBe(true); // 14:29
    expect(isInQuietHours(w, seoul, at('2026-03-10T05:30:00Z'))).toBe(false); // 14:30
  });

  it('judges the same instant by each recipient’s own wall clock', () => {
    const instant = at('2026-03-10T14:00:00Z'); // 23:00 Seoul, 14:00 London
    expect(isInQuietHours(DEFAULT_QUIET_HOURS, seoul, instant)).toBe(true);
    expect(isInQuietHours(DEFAULT_QUIET_HOURS, 'Europe/London', instant)).toBe(false);
  });

  it('ends wrapping quiet hours at the next morning when asked in the evening', () => {
    // 23:00 Seoul on 10 March → 08:00 Seoul on 11 March = 23:00Z on 10 March.
    expect(quietHoursEnd(DEFAULT_QUIET_HOURS, seoul, at('2026-03-10T14:00:00Z')).toISOString()).toBe('2026-03-10T23:00:00.000Z');
  });

  it('ends wrapping quiet hours the same morning when asked after midnight', () => {
    // 03:00 Seoul on 11 March → 08:00 Seoul on 11 March.
    expect(quietHoursEnd(DEFAULT_QUIET_HOURS, seoul, at('2026-03-10T18:00:00Z')).toISOString()).toBe('2026-03-10T23:00:00.000Z');
  });

  it('uses the daylight-saving offset that applies at the end of quiet hours (New York, spring forward)', () => {
    // 8 March 2026: US clocks jump 02:00 EST → 03:00 EDT. Asked at 23:00 EST on 7 March
    // (04:00Z), the window ends at 08:00 EDT = 12:00Z, not 13:00Z.
    const ny = 'America/New_York';
    const asked = at('2026-03-08T04:00:00Z');
    expect(isInQuietHours(DEFAULT_QUIET_HOURS, ny, asked)).toBe(true);
    expect(quietHoursEnd(DEFAULT_QUIET_HOURS, ny, asked).toISOString()).toBe('2026-03-08T12:00:00.000Z');
  });

  it('uses the standard offset after clocks fall back (Berlin, October)', () => {
    // 25 October 2026: CEST → CET at 03:00. 23:00 CEST on 24 Oct = 21:00Z; 08:00 CET = 07:00Z.
    const berlin = 'Europe/Berlin';
    expect(quietHoursEnd(DEFAULT_QUIET_HOURS, berlin, at('2026-10-24T21:00:00Z')).toISOString()).toBe('2026-10-25T07:00:00.000Z');
  });

  it('ends at the clock jump when the end time does not exist that day (DST gap)', () => {
    // 02:30 does not exist in New York on 8 March 2026; local time jumps from 01:59:59 EST to
    // 03:00 EDT at 07:00Z, the first moment the wall clock is at or past 02:30.
    const ny = 'America/New_York';
    const w = { start: '22:00', end: '02:30' };
    expect(quietHoursEnd(w, ny, at('2026-03-08T04:00:00Z')).toISOString()).toBe('2026-03-08T07:00:00.000Z');
  });

  it('picks the earlier instant when the end time happens twice (DST overlap)', () => {
    // 1 November 2026, New York: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
    expect(instantOfWallTime(Date.UTC(2026, 10, 1, 1, 30), 'America/New_York').toISOString()).toBe('2026-11-01T05:30:00.000Z');
  });

  it('counts quiet hours in a zone with a half-hour offset', () => {
    // Asia/Kolkata is UTC+5:30: 16:30Z = 22:00 local.
    expect(isInQuietHours(DEFAULT_QUIET_HOURS, 'Asia/Kolkata', at('2026-03-10T16:29:00Z'))).toBe(false);
    expect(isInQuietHours(DEFAULT_QUIET_HOURS, 'Asia/Kolkata', at('2026-03-10T16:30:00Z'))).toBe(true);
  });
});

describe('effectivePreferences', () => {
  it('gives a recipient without a row everything allowed, quiet hours 22:00–08:00 and their timezone', () => {
    const prefs = effectivePreferences(null, 'Europe/Paris');
    expect(prefs.quietHours).toEqual({ start: '22:00', end: '08:00' });
    expect(prefs.timezone).toBe('Europe/Paris');
    for (const kind of ['MARKETING', 'TRANSACTIONAL', 'SECURITY', 'SERVICE'] as const) {
      expect(prefs.kinds[kind]).toEqual({ allowed: true, preferredChannels: [] });
    }
  });

  it('keeps mandatory kinds allowed even if a stored row says otherwise', () => {
    const prefs = effectivePreferences(
      {
        quietHoursEnabled: false,
        quietStart: '22:00',
        quietEnd: '08:00',
        timezone: 'UTC',
        kinds: { SECURITY: { allowed: false }, TRANSACTIONAL: { allowed: false }, MARKETING: { allowed: false } },
      },
      'Asia/Seoul',
    );
    expect(prefs.kinds.SECURITY.allowed).toBe(true);
    expect(prefs.kinds.TRANSACTIONAL.allowed).toBe(true);
    expect(prefs.kinds.MARKETING.allowed).toBe(false);
    expect(prefs.quietHours).toBeNull();
    expect(prefs.timezone).toBe('UTC');
  });

  it('orders preferred channels in channel order', () => {
    const prefs = effectivePreferences(
      { quietHoursEnabled: true, quietStart: '23:00', quietEnd: '07:00', timezone: null, kinds: { SERVICE: { preferredChannels: ['SMS', 'PUSH'] } } },
      'Asia/Seoul',
    );
    expect(prefs.kinds.SERVICE.preferredChannels).toEqual(['PUSH', 'SMS']);
    expect(prefs.quietHours).toEqual({ start: '23:00', end: '07:00' });
  });
});

describe('resolveChannels', () => {
  const DAY = new Date('2026-03-10T03:00:00Z'); // 12:00 Seoul
  const NIGHT = new Date('2026-03-10T14:00:00Z'); // 23:00 Seoul
  const token = (n: number) => `token-${n}-${'x'.repeat(32)}`;
  const everyChannel = [
    { type: 'EMAIL' as const, address: 'a@example.com' },
    { type: 'SMS' as const, address: '+821011112222' },
    { type: 'KAKAO_ALIMTALK' as const, address: '+821011112222' },
  ];
  const prefs = (change: (p: EffectivePreferences) => void = () => {}) => {
    const p = effectivePreferences(null, 'Asia/Seoul');
    change(p);
    return p;
  };
  const input = (overrides: Partial<ResolveInput> = {}): ResolveInput => ({
    kind: 'SERVICE',
    now: DAY,
    channels: everyChannel,
    devices: [{ id: 'd1', token: token(1), active: true }],
    preferences: prefs(),
    onQuietHours: 'SUPPRESS',
    ...overrides,
  });
  const channelsOf = (r: ReturnType<typeof resolveChannels>) => r.deliveries.map((d) => d.channel);

  it('fans out to every channel in channel order in the daytime', () => {
    const r = resolveChannels(input());
    expect(r.outcome).toBe('FANNED_OUT');
    expect(channelsOf(r)).toEqual(['PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK']);
    expect(r.deliveries[0]).toEqual({ channel: 'PUSH', address: token(1), deviceTokenId: 'd1' });
  });

  it('suppresses an opted-out kind with OPT_OUT before looking at anything else', () => {
    const r = resolveChannels(input({ kind: 'MARKETING', now: NIGHT, channels: [], devices: [], preferences: prefs((p) => (p.kinds.MARKETING.allowed = false)) }));
    expect(r).toEqual({ outcome: 'SUPPRESSED', deliveries: [], scheduledFor: null, suppressionReason: 'OPT_OUT' });
  });

  it.each(['SECURITY', 'TRANSACTIONAL'] as const)('never treats mandatory kind %s as opted out', (kind) => {
    const r = resolveChannels(input({ kind, preferences: prefs((p) => (p.kinds[kind].allowed = false)) }));
    expect(r.outcome).toBe('FANNED_OUT');
  });

  it('keeps only the kind’s preferred channels when the set is non-empty', () => {
    const r = resolveChannels(input({ preferences: prefs((p) => (p.kinds.SERVICE.preferredChannels = ['EMAIL', 'KAKAO_ALIMTALK'])) }));
    expect(channelsOf(r)).toEqual(['EMAIL', 'KAKAO_ALIMTALK']);
  });

  it('suppresses with NO_ELIGIBLE_CHANNEL when the preferred set matches no address', () => {
    const r = resolveChannels(input({ channels: [], devices: [], preferences: prefs((p) => (p.kinds.SERVICE.preferredChannels = ['SMS'])) }));
    expect(r.suppressionReason).toBe('NO_ELIGIBLE_CHANNEL');
  });

  it.each(['MARKETING', 'TRANSACTIONAL', 'SERVICE'] as const)('suppresses %s inside quiet hours with QUIET_HOURS', (kind: Kind) => {
    const r = resolveChannels(input({ kind, now: NIGHT }));
    expect(r).toEqual({ outcome: 'SUPPRESSED', deliveries: [], scheduledFor: null, suppressionReason: 'QUIET_HOURS' });
  });

  it('sends SECURITY inside quiet hours but without KAKAO_ALIMTALK', () => {
    const r = resolveChannels(input({ kind: 'SECURITY', now: NIGHT }));
    expect(r.outcome).toBe('FANNED_OUT');
    expect(channelsOf(r)).toEqual(['PUSH', 'EMAIL', 'SMS']);
  });

  it('suppresses SECURITY inside quiet hours when KAKAO_ALIMTALK was its only channel', () => {
    const r = resolveChannels(input({ kind: 'SECURITY', now: NIGHT, devices: [], channels: [everyChannel[2]!] }));
    expect(r.suppressionReason).toBe('NO_ELIGIBLE_CHANNEL');
  });

  it('defers to the end of quiet hours in the recipient’s timezone when asked to, keeping KAKAO_ALIMTALK', () => {
    const r = resolveChannels(input({ kind: 'MARKETING', now: NIGHT, onQuietHours: 'DEFER' }));
    expect(r.outcome).toBe('SCHEDULED');
    expect(r.scheduledFor?.toISOString()).toBe('2026-03-10T23:00:00.000Z'); // 08:00 Seoul
    expect(channelsOf(r)).toEqual(['PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK']);
  });

  it('does not defer a SECURITY notification: it bypasses quiet hours', () => {
    const r = resolveChannels(input({ kind: 'SECURITY', now: NIGHT, onQuietHours: 'DEFER' }));
    expect(r.outcome).toBe('FANNED_OUT');
    expect(r.scheduledFor).toBeNull();
  });

  it('ignores DEFER outside quiet hours', () => {
    expect(resolveChannels(input({ onQuietHours: 'DEFER' })).outcome).toBe('FANNED_OUT');
  });

  it('uses the preference timezone over the recipient’s for quiet hours', () => {
    // 23:00 Seoul is 14:00 in London: not quiet there.
    const r = resolveChannels(input({ now: NIGHT, preferences: prefs((p) => (p.timezone = 'Europe/London')) }));
    expect(r.outcome).toBe('FANNED_OUT');
  });

  it('sends at night when quiet hours are disabled, Kakao included', () => {
    const r = resolveChannels(input({ now: NIGHT, preferences: prefs((p) => (p.quietHours = null)) }));
    expect(channelsOf(r)).toEqual(['PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK']);
  });

  it('fans PUSH out to every active device and skips inactive ones', () => {
    const r = resolveChannels(
      input({
        channels: [],
        devices: [
          { id: 'd1', token: token(1), active: true },
          { id: 'd2', token: token(2), active: false },
          { id: 'd3', token: token(3), active: true },
        ],
      }),
    );
    expect(r.deliveries).toEqual([
      { channel: 'PUSH', address: token(1), deviceTokenId: 'd1' },
      { channel: 'PUSH', address: token(3), deviceTokenId: 'd3' },
    ]);
  });

  it('drops PUSH when no device is active', () => {
    const r = resolveChannels(input({ devices: [{ id: 'd2', token: token(2), active: false }] }));
    expect(channelsOf(r)).toEqual(['EMAIL', 'SMS', 'KAKAO_ALIMTALK']);
  });

  it('uses one address per type: the first stored', () => {
    const r = resolveChannels(
      input({ devices: [], channels: [{ type: 'EMAIL', address: 'first@example.com' }, { type: 'EMAIL', address: 'second@example.com' }] }),
    );
    expect(r.deliveries).toEqual([{ channel: 'EMAIL', address: 'first@example.com', deviceTokenId: null }]);
  });

  it('suppresses with NO_ELIGIBLE_CHANNEL when the recipient has no address at all', () => {
    expect(resolveChannels(input({ channels: [], devices: [] })).suppressionReason).toBe('NO_ELIGIBLE_CHANNEL');
  });
});

describe('templates', () => {
  it('accepts dotted lowercase keys and two-letter locales with an optional region', () => {
    expect(TEMPLATE_KEY_PATTERN.test('auth.otp.v1')).toBe(true);
    expect(TEMPLATE_KEY_PATTERN.test('auth')).toBe(false);
    expect(TEMPLATE_KEY_PATTERN.test('Auth.otp')).toBe(false);
    expect(TEMPLATE_KEY_PATTERN.test('auth..otp')).toBe(false);
    expect(LOCALE_PATTERN.test(normalizeLocale(' KO-KR '))).toBe(true);
    expect(LOCALE_PATTERN.test('en')).toBe(true);
    expect(LOCALE_PATTERN.test('eng-us')).toBe(false);
  });

  it('finds single-brace placeholders once each and ignores other braces', () => {
    expect(placeholders('Hi {name}, code {code}. {name}! {"json": 1} {{x}} { spaced }')).toEqual(['name', 'code', 'x']);
  });

  it('names the variables a payload lacks across title and body', () => {
    expect(missingVariables(['{a} {b}', '{c}'], { a: '1' })).toEqual(['b', 'c']);
    expect(missingVariables(['{a}'], { a: '' })).toEqual([]);
  });

  it('does not treat inherited object properties as provided variables', () => {
    expect(missingVariables(['{constructor}'], {})).toEqual(['constructor']);
  });

  it('substitutes placeholders and keeps literal JSON braces intact', () => {
    expect(renderTemplate('Code {code} {"a": {"b": 1}}', { code: '123' })).toBe('Code 123 {"a": {"b": 1}}');
  });

  it('inserts values literally without re-expanding placeholders inside them', () => {
    expect(renderTemplate('{a}', { a: '{b}', b: 'x' })).toBe('{b}');
  });

  it('HTML-escapes substituted values only when asked (EMAIL HTML bodies), never the template markup', () => {
    const vars = { name: '<b>"Tom" & \'Jerry\'</b>' };
    expect(renderTemplate('<p>{name}</p>', vars, { html: true })).toBe('<p>&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;</p>');
    expect(renderTemplate('<p>{name}</p>', vars)).toBe('<p><b>"Tom" & \'Jerry\'</b></p>');
  });

  it('throws on a missing variable instead of rendering a hole', () => {
    expect(() => renderTemplate('{missing}', {})).toThrow(/missing/);
  });
});

describe('smsSegments', () => {
  it('packs GSM-7 text into 160 characters, then 153 per concatenated part', () => {
    expect(smsSegments('')).toBe(1);
    expect(smsSegments('a'.repeat(160))).toBe(1);
    expect(smsSegments('a'.repeat(161))).toBe(2);
    expect(smsSegments('a'.repeat(306))).toBe(2);
    expect(smsSegments('a'.repeat(307))).toBe(3);
  });

  it('counts a GSM-7 extension character such as € as two septets', () => {
    expect(smsSegments('€'.repeat(80))).toBe(1);
    expect(smsSegments('€'.repeat(81))).toBe(2);
  });

  it('switches the whole message to UCS-2 (70, then 67 per part) for one character outside GSM-7', () => {
    expect(smsSegments('가'.repeat(70))).toBe(1);
    expect(smsSegments('가'.repeat(71))).toBe(2);
    expect(smsSegments('가'.repeat(134))).toBe(2);
    expect(smsSegments('가'.repeat(135))).toBe(3);
    // 159 GSM characters fit one part; one Korean syllable makes the whole body UCS-2.
    expect(smsSegments(`${'a'.repeat(159)}가`)).toBe(3);
  });

  it('counts an emoji as two UCS-2 units', () => {
    expect(smsSegments('😀'.repeat(35))).toBe(1);
    expect(smsSegments('😀'.repeat(36))).toBe(2);
  });

  // smsSegments counts plain GSM-7 bodies itself and hands every other body to the library: both
  // paths must agree with the library everywhere.
  const library = (body: string) => Math.max(1, new SegmentedMessage(body).segmentsCount);

  it('agrees with the library for every character of the Basic Multilingual Plane, and at part boundaries', () => {
    const disagree = (body: string) => (smsSegments(body) === library(body) ? [] : [{ body: body.slice(-2), length: body.length, ours: smsSegments(body), library: library(body) }]);
    const mismatches = [];
    for (let code = 0; code <= 0xffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue; // lone surrogates are not text
      mismatches.push(...disagree(String.fromCharCode(code)));
    }
    // Where a part fills up, for every character of the GSM-7 alphabet (Latin-1, Greek, €) and its
    // neighbours. (The library takes milliseconds per long body: this is as far as a unit test goes.)
    const near = [...Array(0x100).keys(), ...Array.from({ length: 0x20 }, (_, i) => 0x390 + i), 0x20ac].map((code) => String.fromCharCode(code));
    for (const c of near) {
      for (const body of [c.repeat(161), `${'a'.repeat(159)}${c}`]) {
        mismatches.push(...disagree(body));
      }
    }
    expect(mismatches).toEqual([]);
  }, 30_000);

  it('agrees with the library on bodies mixing GSM-7, extension, line-break and UCS-2 characters', () => {
    const pieces = ['a', 'Z', '0', ' ', '@', 'é', 'Ç', 'Ω', '\n', '\r', '\r\n', '€', '^', '{', '~', '\f', '가', 'ç', '😀', '👍🏽', 'e\u0301', '\u00a0'];
    for (const odd of pieces) {
      for (const text of [`${'a'.repeat(159)}${odd}`, `${'a'.repeat(80)}${odd}${'a'.repeat(80)}`, odd.repeat(81)]) expect([text, smsSegments(text)]).toEqual([text, library(text)]);
    }
    // Mostly plain text (the common case, and the fast path's), sometimes one odd character.
    const plain = fc.constantFrom<string>('a', 'Z', '0', ' ', '.', '@', 'é', 'Ω', '\n');
    const body = fc.oneof(
      fc.array(plain, { maxLength: 480, size: 'max' }).map((cs) => cs.join('')),
      fc.tuple(fc.array(plain, { maxLength: 480, size: 'max' }), fc.constantFrom(...pieces), fc.nat()).map(([cs, odd, at]) => {
        cs.splice(at % (cs.length + 1), 0, odd);
        return cs.join('');
      }),
      fc.array(fc.constantFrom(...pieces), { maxLength: 400 }).map((cs) => cs.join('')),
      fc.string({ unit: 'grapheme', maxLength: 200 }),
    );
    fc.assert(fc.property(body, (text) => smsSegments(text) === library(text)), { numRuns: 400 });
  });
});
