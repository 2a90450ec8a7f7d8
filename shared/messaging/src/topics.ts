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
  /** `notification.delivery.<channel>` or its `.priority` lane (SECURITY, TRANSACTIONAL). */
  delivery(channel: Channel, priority: boolean): string;
  /** Both delivery topics of a channel: bulk first, then priority. */
  deliveryLanes(channel: Channel): { bulk: string; priority: string };
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
  const delivery = (channel: Channel, priority: boolean) =>
    ns(`notification.delivery.${CHANNEL_SLUG[channel]}${priority ? '.priority' : ''}`);
  const topics: Topics = {
    delivery,
    deliveryLanes: (channel) => ({ bulk: delivery(channel, false), priority: delivery(channel, true) }),
    fannedOut: ns('notification.fanned-out'),
    vendorResult: ns('notify.vendor.result'),
    alertFired: ns('alert.fired'),
    dlqOf: (topic) => `${topic}.dlq`,
    dispatcherGroup: (channel) => ns(`notification-hub-${GROUP_SLUG[channel]}`),
    all() {
      const base = [
        ...(Object.keys(CHANNEL_SLUG) as Channel[]).flatMap((c) => [delivery(c, false), delivery(c, true)]),
        topics.fannedOut,
        topics.vendorResult,
        topics.alertFired,
      ];
      return [...base, ...base.map(topics.dlqOf)];
    },
    channelOf(topic) {
      return (Object.keys(CHANNEL_SLUG) as Channel[]).find(
        (c) => topic === delivery(c, false) || topic === delivery(c, true),
      );
    },
  };
  return topics;
}
