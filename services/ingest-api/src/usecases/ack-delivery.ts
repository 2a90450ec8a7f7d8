import { acknowledgeReceipt } from '@hub/attempts';
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

/**
 * POST /deliveries/{attemptId}/ack, after its signature was verified: the receipt is applied by
 * the attempt lifecycle (@hub/attempts acknowledgeReceipt) in one transaction. A vendor only
 * ever receives its own channel's attempts: a receipt signed with the SES secret must not settle
 * a PUSH attempt, and is answered like an unknown attempt (no oracle).
 */
export async function ackDelivery(deps: Pick<Deps, 'db' | 'clock' | 'topics'>, input: AckInput): Promise<{ attemptId: string; status: AttemptStatus; applied: boolean }> {
  const missing = () => notFound('NOT_FOUND', `attempt ${input.attemptId} does not exist`);
  const channel = VENDOR_CHANNEL[input.vendor];
  if (!channel) throw missing();
  const ctx = { topics: deps.topics, now: deps.clock() };
  const result = await deps.db.transaction().execute((tx) =>
    acknowledgeReceipt(tx, ctx, {
      attemptId: input.attemptId,
      channel,
      actor: `vendor:${input.vendor}`,
      success: input.success,
      vendorMessageId: input.vendorMessageId,
      failureReason: input.failureReason,
    }),
  );
  if (!result) throw missing();
  return { attemptId: input.attemptId, status: result.status, applied: result.applied };
}
