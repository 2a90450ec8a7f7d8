import { randomUUID } from 'node:crypto';
import { isUuid } from '@hub/domain';
import { AppError, badRequest, parseInput, unavailable } from '@hub/http';
import type { Deps } from '../deps.ts';
import { compareAndDelete } from '../compare-and-delete.ts';
import { sesDeliveryStatus, sesEventSchema, type SnsEnvelope, type SnsMessageVerifier, type SnsTrust } from '../routes/vendor-receipts-sns.ts';
import { recordDeliveryStatus } from './record-delivery-status.ts';

export interface SnsOutcome {
  messageId: string;
  type: SnsEnvelope['Type'];
  /** applied: the attempt's delivery status moved; confirmed: the subscription was confirmed;
   * ignored: nothing to do (another event type, an unknown message, the same status again);
   * duplicate: this MessageId was already processed (SNS redelivery or a replay). */
  outcome: 'applied' | 'confirmed' | 'ignored' | 'duplicate';
  attemptId?: string | undefined;
  deliveryStatus?: string | null | undefined;
}

// How long a message being processed holds its MessageId: longer than one message ever takes.
const PROCESSING_MS = 30_000;
const DONE = 'done';

type SnsDeps = Pick<Deps, 'db' | 'redis' | 'clock' | 'topics' | 'metrics' | 'config' | 'logger'> & { sns: { verifier: SnsMessageVerifier; trust: SnsTrust } };

/**
 * POST /vendors/ses/sns after the envelope's signature, topic and age were checked. Each SNS
 * MessageId is processed once: `SET NX` of a processing marker (a concurrent copy gets 409 and
 * SNS retries it), then `done` for twice SNS_MAX_AGE_MS (older messages are refused anyway), so a
 * redelivered or replayed message is answered 200 `duplicate` and changes nothing. A 5xx forgets
 * the MessageId, so SNS's retry goes through.
 * - SubscriptionConfirmation: GET its SubscribeURL (an SNS host only), confirming the subscription;
 * - UnsubscribeConfirmation: nothing (the hub never resubscribes on its own);
 * - Notification: an SES event; the attempt is its `attemptId` message tag (set by the SES
 *   adapter), else its SES message id; Delivery/Bounce/Complaint move its delivery status.
 */
export async function receiveSnsMessage(deps: SnsDeps, envelope: SnsEnvelope): Promise<SnsOutcome> {
  const key = `sns-msg:${envelope.MessageId}`;
  const owner = `processing:${randomUUID()}`;
  let previous: string | null;
  try {
    previous = await deps.redis.set(key, owner, 'PX', PROCESSING_MS, 'NX', 'GET');
  } catch (err) {
    throw unavailable('receipt replay protection is unavailable', err);
  }
  const base = { messageId: envelope.MessageId, type: envelope.Type };
  if (previous === DONE) return { ...base, outcome: 'duplicate' };
  if (previous !== null) {
    throw new AppError({ code: 'REQUEST_IN_PROGRESS', status: 409, message: 'the same SNS message is being processed; retry shortly', headers: { 'Retry-After': '1' } });
  }
  const log = deps.logger.child({ component: 'ses-sns', snsMessageId: envelope.MessageId });
  const remember = () => deps.redis.set(key, DONE, 'PX', 2 * deps.config.SNS_MAX_AGE_MS);
  let outcome: SnsOutcome;
  try {
    outcome = { ...base, ...(await handleMessage(deps, envelope)) };
  } catch (err) {
    const settle = err instanceof AppError && err.status < 500 ? remember() : compareAndDelete(deps.redis, key, owner);
    await settle.catch((settleErr: unknown) => log.warn({ err: settleErr }, 'sns message replay key not settled'));
    throw err;
  }
  await remember().catch((err: unknown) => log.warn({ err }, 'sns message replay key not settled'));
  log.info({ type: envelope.Type, outcome: outcome.outcome, attemptId: outcome.attemptId, deliveryStatus: outcome.deliveryStatus }, 'sns message processed');
  return outcome;
}

async function handleMessage(deps: SnsDeps, envelope: SnsEnvelope): Promise<Omit<SnsOutcome, 'messageId' | 'type'>> {
  if (envelope.Type === 'UnsubscribeConfirmation') return { outcome: 'ignored' };
  if (envelope.Type === 'SubscriptionConfirmation') {
    const url = deps.sns.verifier.trustedUrl(envelope.SubscribeURL, 'SubscribeURL');
    try {
      await deps.sns.trust.get(url);
    } catch (err) {
      throw unavailable('the SNS subscription could not be confirmed', err);
    }
    return { outcome: 'confirmed' };
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(envelope.Message);
  } catch {
    throw badRequest('Message is not an SES event', { errors: [{ field: 'body.Message', message: 'is not valid JSON' }] });
  }
  const event = parseInput(sesEventSchema, parsed, 'body');
  const mapped = sesDeliveryStatus(event);
  if (!mapped) return { outcome: 'ignored' };
  const tagged = event.mail.tags?.attemptId?.[0];
  const attempt = tagged !== undefined && isUuid(tagged) ? { id: tagged.toLowerCase() } : { vendorMessageId: event.mail.messageId };
  const result = await recordDeliveryStatus(deps, {
    vendor: 'ses',
    channel: 'EMAIL',
    attempt,
    status: mapped.status,
    reason: mapped.reason,
    vendorMessageId: event.mail.messageId,
  });
  // An event of a message the hub did not send (another sender on the configuration set) or no
  // longer has: nothing to do, and nothing SNS should retry.
  if (!result) return { outcome: 'ignored' };
  return { outcome: result.applied ? 'applied' : 'ignored', attemptId: result.attemptId, deliveryStatus: result.deliveryStatus };
}
