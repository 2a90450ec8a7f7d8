import { CHANNELS } from '@hub/domain';
import type { Topics } from '@hub/messaging';
import type { DlqFilter } from '../repositories/dlq-filter.ts';
import type { FilterInput } from '../routes/schemas.ts';

/**
 * Search/bulk input → the filter the queries apply. A channel beats a topic. A topic is a
 * delivery topic (that lane only) or a dispatcher consumer group (both lanes of its channel);
 * anything else matches nothing rather than everything.
 */
export function resolveFilter(topics: Topics, input: FilterInput): DlqFilter {
  const filter: DlqFilter = {
    ...(input.from ? { from: input.from } : {}),
    ...(input.to ? { to: input.to } : {}),
    ...(input.errorType ? { errorClass: input.errorType } : {}),
  };
  if (input.channel) return { ...filter, channel: input.channel };
  if (input.topic === undefined) return filter;
  for (const channel of CHANNELS) {
    if (input.topic === topics.delivery(channel, false)) return { ...filter, channel, priority: false };
    if (input.topic === topics.delivery(channel, true)) return { ...filter, channel, priority: true };
    if (input.topic === topics.dispatcherGroup(channel)) return { ...filter, channel };
  }
  return { ...filter, matchesNothing: true };
}
