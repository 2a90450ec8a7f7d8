import { describe, expect, it } from 'vitest';
import { createTopics } from './topics.ts';

describe('createTopics', () => {
  it('names delivery topics per channel with a priority lane', () => {
    const topics = createTopics();
    expect(topics.delivery('KAKAO_ALIMTALK', false)).toBe('notification.delivery.kakao_alimtalk');
    expect(topics.delivery('PUSH', true)).toBe('notification.delivery.push.priority');
    expect(topics.delivery('PUSH', true, true)).toBe('notification.delivery.push.priority.retry');
    expect(topics.dispatcherGroup('KAKAO_ALIMTALK')).toBe('notification-hub-kakao');
    expect(topics.dlqOf('notification.delivery.sms')).toBe('notification.delivery.sms.dlq');
  });

  it('prefixes every name with the namespace', () => {
    const topics = createTopics('t1');
    expect(topics.fannedOut).toBe('t1.notification.fanned-out');
    expect(topics.all().every((t) => t.startsWith('t1.'))).toBe(true);
    expect(topics.all()).toHaveLength(30);
  });

  it('maps a delivery topic back to its channel', () => {
    const topics = createTopics('ns');
    expect(topics.channelOf('ns.notification.delivery.email.priority')).toBe('EMAIL');
    expect(topics.channelOf('ns.notification.delivery.email.priority.retry')).toBe('EMAIL');
    expect(topics.channelOf('notification.delivery.email')).toBeUndefined();
    expect(topics.channelOf('nope')).toBeUndefined();
  });
});
