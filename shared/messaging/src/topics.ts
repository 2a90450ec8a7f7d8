import type { Channel } from '@hub/domain';

const CHANNEL_SLUG: Record<Channel, string> = {
  PUSH: 'push',
  EMAIL: 'email',
  SMS: 'sms',
  KAKAO_ALIMTALK: 'kakao_alimtalk',
};

const GROUP_SLUG: Record<Channel, string> = {
  PUSH: 'push',
  EMAIL: 'email',
  SMS: 'sms',
  KAKAO_ALIMTALK: 'kakao',
};

export interface Topics {
  /**
   * `notification.delivery.<channel>`, its `.priority` lane (SECURITY, TRANSACTIONAL), or, for a
   * priority attempt's retry (retryCount > 0), the `.priority.retry` lane: a retry after a crashed
   * worker or a failed call never waits behind the priority lane's backlog of first sends.
   */
  delivery(channel: Channel, priority: boolean, retry?: boolean): string;
  /** The delivery topics of a channel: bulk, priority, and the priority lane's retries. */
  deliveryLanes(channel: Channel): { bulk: string; priority: string; priorityRetry: string };
  fannedOut: string;
  vendorResult: string;
  alertFired: string;
  /** Where poison messages of `topic` go. */
  dlqOf(topic: string): string;
  /** Consumer group of a channel's dispatcher. */
  dispatcherGroup(channel: Channel): string;
  /** Every topic the hub writes, DLQs included (for topic provisioning). */
  all(): string[];
  /** The channel whose delivery topic this is, if any (admin search by topic). */
  channelOf(topic: string): Channel | undefined;
}

/**
 * The topic registry. `namespace` (env KAFKA_TOPIC_NAMESPACE) prefixes every name so several
 * environments, or test files, share one cluster without seeing each other's messages.
 */
export function createTopics(namespace = ''): Topics {
  const ns = (name: string) => (namespace ? `${namespace}.${name}` : name);
  const delivery = (channel: Channel, priority: boolean, retry = false) =>
    ns(`notification.delivery.${CHANNEL_SLUG[channel]}${priority ? (retry ? '.priority.retry' : '.priority') : ''}`);
  const topics: Topics = {
    delivery,
    deliveryLanes: (channel) => ({ bulk: delivery(channel, false), priority: delivery(channel, true), priorityRetry: delivery(channel, true, true) }),
    fannedOut: ns('notification.fanned-out'),
    vendorResult: ns('notify.vendor.result'),
    alertFired: ns('alert.fired'),
    dlqOf: (topic) => `${topic}.dlq`,
    dispatcherGroup: (channel) => ns(`notification-hub-${GROUP_SLUG[channel]}`),
    all() {
      const base = [
        ...(Object.keys(CHANNEL_SLUG) as Channel[]).flatMap((c) => [delivery(c, false), delivery(c, true), delivery(c, true, true)]),
        topics.fannedOut,
        topics.vendorResult,
        topics.alertFired,
      ];
      return [...base, ...base.map(topics.dlqOf)];
    },
    channelOf(topic) {
      return (Object.keys(CHANNEL_SLUG) as Channel[]).find(
        (c) => topic === delivery(c, false) || topic === delivery(c, true) || topic === delivery(c, true, true),
      );
    },
  };
  return topics;
}
