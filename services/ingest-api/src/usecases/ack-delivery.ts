import { acknowledgeReceipt, type Receipt, type ReceiptResult } from '@hub/attempts';
import type { AttemptStatus, Channel } from '@hub/domain';
import { MicroBatcher } from '@hub/db';
import { notFound } from '@hub/http';
import type { Deps } from '../deps.ts';

/** The channel each signing vendor delivers (SMS fallbacks of Kakao attempts go through Twilio). */
const VENDOR_CHANNEL: Record<string, Channel> = {
  fcm: 'PUSH',
  ses: 'EMAIL',
  twilio: 'SMS',
  kakao: 'KAKAO_ALIMTALK',
};

export interface AckInput {
  attemptId: string;
  vendor: string;
  success: boolean;
  vendorMessageId?: string | undefined;
  failureReason?: string | undefined;
}

type Settled = PromiseSettledResult<ReceiptResult | undefined>;

/**
 * Applies receipts with group commit (MicroBatcher): receipts arriving while `maxConcurrent`
 * statements are in flight share the next one (@hub/attempts acknowledgeReceipt, up to
 * `maxBatch`), so a burst of repeated receipts shares one commit (one WAL flush) instead of
 * paying one each; a lone receipt waits for nothing. A batch whose statement failed wrote
 * nothing and is applied again receipt by receipt, so one bad receipt never fails its neighbours.
 */
export class ReceiptWriter {
  private readonly deps: Pick<Deps, 'db' | 'clock' | 'topics' | 'logger'>;
  private readonly batches: MicroBatcher<Receipt, Settled>;

  constructor(deps: Pick<Deps, 'db' | 'clock' | 'topics' | 'logger'>, options: { maxBatch: number; maxConcurrent: number }) {
    this.deps = deps;
    this.batches = new MicroBatcher({ maxSize: options.maxBatch, maxConcurrent: options.maxConcurrent, run: (receipts) => this.apply(receipts) });
  }

  /** Resolves once the receipt is committed; `undefined` when there is no such attempt of that channel. */
  async acknowledge(receipt: Receipt): Promise<ReceiptResult | undefined> {
    const settled = await this.batches.submit(receipt);
    if (settled.status === 'rejected') throw settled.reason;
    return settled.value;
  }

  private async apply(receipts: Receipt[]): Promise<Settled[]> {
    const ctx = { topics: this.deps.topics, now: this.deps.clock() };
    try {
      return await acknowledgeReceipt(this.deps.db, ctx, receipts);
    } catch (err) {
      if (receipts.length === 1) throw err;
      this.deps.logger.warn({ err, batch: receipts.length }, 'batched receipts failed, retrying each alone');
      return Promise.all(
        receipts.map((receipt) => acknowledgeReceipt(this.deps.db, ctx, [receipt]).then(([settled]) => settled!, (reason: unknown): Settled => ({ status: 'rejected', reason }))),
      );
    }
  }
}

/**
 * POST /deliveries/{attemptId}/ack, after its signature was verified: the receipt is applied by
 * the attempt lifecycle (@hub/attempts acknowledgeReceipt, through the app's ReceiptWriter).
 * A vendor only ever receives its own channel's attempts: a receipt signed with the SES secret
 * must not settle a PUSH attempt, and is answered like an unknown attempt (no oracle).
 */
export async function ackDelivery(deps: Pick<Deps, 'receipts'>, input: AckInput): Promise<{ attemptId: string; status: AttemptStatus; applied: boolean }> {
  const missing = () => notFound('NOT_FOUND', `attempt ${input.attemptId} does not exist`);
  const channel = VENDOR_CHANNEL[input.vendor];
  if (!channel) throw missing();
  const result = await deps.receipts.acknowledge({
    attemptId: input.attemptId,
    channel,
    actor: `vendor:${input.vendor}`,
    success: input.success,
    vendorMessageId: input.vendorMessageId,
    failureReason: input.failureReason,
  });
  if (!result) throw missing();
  return { attemptId: input.attemptId, status: result.status, applied: result.applied };
}
