import { recordDeliveryReceipt, type DeliveryReceiptResult } from '@hub/attempts';
import type { Channel, DeliveryStatus } from '@hub/domain';
import type { Deps } from '../deps.ts';

export interface DeliveryStatusInput {
  /** `twilio`, `ses`: the audit trail and the suppression list name it `vendor:<name>`. */
  vendor: string;
  channel: Channel;
  attempt: { id: string } | { vendorMessageId: string };
  status: DeliveryStatus;
  reason: string | null;
  vendorMessageId?: string | undefined;
}

/**
 * A verified vendor receipt in the vendor's own format (Twilio status callback, SES event through
 * SNS), already mapped to a delivery status: applied by the attempt lifecycle
 * (@hub/attempts recordDeliveryReceipt) in one transaction with its event, its suppression-list
 * entry and its audit row. `undefined` when no attempt of that channel matches.
 */
export async function recordDeliveryStatus(deps: Pick<Deps, 'db' | 'clock' | 'topics' | 'metrics'>, input: DeliveryStatusInput): Promise<DeliveryReceiptResult | undefined> {
  const ctx = { topics: deps.topics, now: deps.clock() };
  const result = await deps.db.transaction().execute((tx) =>
    recordDeliveryReceipt(tx, ctx, {
      attempt: input.attempt,
      channel: input.channel,
      actor: `vendor:${input.vendor}`,
      status: input.status,
      reason: input.reason,
      vendorMessageId: input.vendorMessageId,
    }),
  );
  deps.metrics.deliveryAcks.inc({ vendor: input.vendor, outcome: result?.applied ? 'applied' : 'ignored' });
  return result;
}
