import { describe, expect, it } from 'vitest';
import { ATTEMPT_STEPS, FINAL_ATTEMPT_STATUSES, INITIAL_ATTEMPT_STATUS, canTransition, decideFailedDispatch, type AttemptStatus } from './index.ts';

describe('ATTEMPT_STEPS (the named transitions the SQL guards are generated from)', () => {
  it('lists every step the hub takes, each a path of the state machine', () => {
    const steps = Object.entries(ATTEMPT_STEPS).map(([name, step]) => `${name}: ${step.from.join('|')} -> ${step.to}`);
    expect(steps).toEqual([
      'claim: PENDING -> DISPATCHING',
      'succeed: DISPATCHING -> SUCCEEDED',
      'retry: DISPATCHING -> PENDING',
      'exhaust: DISPATCHING -> EXHAUSTED',
      'release: DISPATCHING -> PENDING',
      'acknowledge: PENDING|DISPATCHING -> SUCCEEDED',
      'replay: EXHAUSTED -> PENDING',
      'discard: EXHAUSTED -> PERMANENTLY_FAILED',
    ]);
    for (const step of Object.values(ATTEMPT_STEPS)) {
      for (const from of step.from) {
        const path: AttemptStatus[] = [from, ...(('via' in step ? step.via : []) as AttemptStatus[]).filter((s) => s !== from), step.to];
        for (let i = 1; i < path.length; i++) expect(canTransition(path[i - 1]!, path[i]!), `${path[i - 1]} -> ${path[i]}`).toBe(true);
      }
    }
  });

  it('lets a receipt settle exactly the attempts that are not final yet', () => {
    const open = (['PENDING', 'DISPATCHING', 'SUCCEEDED', 'EXHAUSTED', 'PERMANENTLY_FAILED'] as const).filter((s) => !FINAL_ATTEMPT_STATUSES.has(s));
    expect([...ATTEMPT_STEPS.acknowledge.from].sort()).toEqual([...open].sort());
  });

  it('creates every attempt PENDING, where a claim can take it', () => {
    expect(INITIAL_ATTEMPT_STATUS).toBe('PENDING');
    expect(ATTEMPT_STEPS.claim.from).toContain(INITIAL_ATTEMPT_STATUS);
  });
});

describe('decideFailedDispatch', () => {
  const attempt = (over: Partial<Parameters<typeof decideFailedDispatch>[0]> = {}) => ({ channel: 'SMS' as const, retryCount: 0, maxRetry: 5, fallbackOf: null, ...over });

  it('retries a transient failure while dispatches remain, counting it', () => {
    expect(decideFailedDispatch(attempt({ retryCount: 2 }), { errorClass: 'transient', detail: '503' })).toEqual({
      step: 'retry',
      retryCount: 3,
      reason: 'transient: 503',
      disableDeviceToken: false,
      smsFallback: false,
    });
  });

  it('exhausts after the last dispatch, and at once for a permanent or invalid-recipient error', () => {
    expect(decideFailedDispatch(attempt({ retryCount: 4 }), { errorClass: 'transient', detail: '503' })).toMatchObject({ step: 'exhaust', retryCount: 5 });
    expect(decideFailedDispatch(attempt(), { errorClass: 'permanent', detail: 'rejected' })).toMatchObject({ step: 'exhaust', retryCount: 1, reason: 'permanent: rejected' });
    expect(decideFailedDispatch(attempt(), { errorClass: 'invalid_recipient', detail: 'no such number' })).toMatchObject({ step: 'exhaust', retryCount: 1 });
  });

  it('disables a PUSH token only when the push service called it unregistered', () => {
    expect(decideFailedDispatch(attempt({ channel: 'PUSH' }), { errorClass: 'invalid_recipient', detail: 'UNREGISTERED' }).disableDeviceToken).toBe(true);
    expect(decideFailedDispatch(attempt({ channel: 'PUSH' }), { errorClass: 'permanent', detail: 'bad payload' }).disableDeviceToken).toBe(false);
    expect(decideFailedDispatch(attempt({ channel: 'SMS' }), { errorClass: 'invalid_recipient', detail: 'x' }).disableDeviceToken).toBe(false);
  });

  it('falls a Kakao attempt the vendor refused for good back to SMS, never a fallback itself, a retry or a transient exhaustion', () => {
    const kakao = attempt({ channel: 'KAKAO_ALIMTALK' });
    expect(decideFailedDispatch(kakao, { errorClass: 'permanent', detail: 'x' }).smsFallback).toBe(true);
    expect(decideFailedDispatch(kakao, { errorClass: 'invalid_recipient', detail: 'x' }).smsFallback).toBe(true);
    expect(decideFailedDispatch({ ...kakao, retryCount: 4 }, { errorClass: 'transient', detail: 'lease expired' }).smsFallback).toBe(false);
    expect(decideFailedDispatch({ ...kakao, fallbackOf: 'a' }, { errorClass: 'permanent', detail: 'x' }).smsFallback).toBe(false);
    expect(decideFailedDispatch(kakao, { errorClass: 'transient', detail: 'x' }).smsFallback).toBe(false);
    expect(decideFailedDispatch(attempt({ channel: 'EMAIL' }), { errorClass: 'permanent', detail: 'x' }).smsFallback).toBe(false);
  });
});
