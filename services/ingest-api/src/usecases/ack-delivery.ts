import { acknowledgeReceipt, type Receipt, type ReceiptResult } from '@hub/attempts';
import type { AttemptStatus, Channel } from '@hub/domain';
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

interface Queued {
  receipt: Receipt;
  resolve: (result: ReceiptResult | undefined) => void;
  reject: (err: unknown) => void;
  /** Set after its batch failed: this receipt goes in a statement of its own. */
  alone: boolean;
}

/**
 * Applies receipts with group commit, as NotificationWriter writes notifications: while
 * `maxConcurrent` statements are in flight, new receipts queue up, and the next statement takes
 * up to `maxBatch` of them (@hub/attempts acknowledgeReceipt), so a burst of repeated receipts
 * shares one commit (one WAL flush) instead of paying one each. Under light load every receipt
 * gets its statement at once: batching adds no latency. A batch whose statement failed wrote
 * nothing and is retried receipt by receipt, so one bad receipt never fails its neighbours.
 */
export class ReceiptWriter {
  private readonly deps: Pick<Deps, 'db' | 'clock' | 'topics' | 'logger'>;
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;
  private readonly queue: Queued[] = [];
  private inFlight = 0;

  constructor(deps: Pick<Deps, 'db' | 'clock' | 'topics' | 'logger'>, options: { maxBatch: number; maxConcurrent: number }) {
    this.deps = deps;
    this.maxBatch = options.maxBatch;
    this.maxConcurrent = options.maxConcurrent;
  }

  /** Resolves once the receipt is committed; `undefined` when there is no such attempt of that channel. */
  acknowledge(receipt: Receipt): Promise<ReceiptResult | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ receipt, resolve, reject, alone: false });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxConcurrent && this.queue.length > 0) {
      let size = 1;
      if (!this.queue[0]!.alone) while (size < this.maxBatch && size < this.queue.length && !this.queue[size]!.alone) size++;
      const batch = this.queue.splice(0, size);
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async flush(batch: Queued[]): Promise<void> {
    let settled: PromiseSettledResult<ReceiptResult | undefined>[];
    try {
      const ctx = { topics: this.deps.topics, now: this.deps.clock() };
      settled = await acknowledgeReceipt(
        this.deps.db,
        ctx,
        batch.map((q) => q.receipt),
      );
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      this.deps.logger.warn({ err, batch: batch.length }, 'batched receipts failed, retrying each alone');
      for (const q of batch) q.alone = true;
      this.queue.unshift(...batch);
      return;
    }
    settled.forEach((s, i) => (s.status === 'fulfilled' ? batch[i]!.resolve(s.value) : batch[i]!.reject(s.reason)));
  }
}

/**
 * POST /deliveries/{attemptId}/ack, after its signature was verified: the receipt is applied by
 * the attempt lifecycle (@hub/attempts acknowledgeReceipt, through the router's ReceiptWriter).
 * A vendor only ever receives its own channel's attempts: a receipt signed with the SES secret
 * must not settle a PUSH attempt, and is answered like an unknown attempt (no oracle).
 */
export async function ackDelivery(deps: { receipts: ReceiptWriter }, input: AckInput): Promise<{ attemptId: string; status: AttemptStatus; applied: boolean }> {
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
