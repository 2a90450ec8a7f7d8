import express, { Router } from 'express';
import { z } from 'zod';
import { DELIVERY_STATUSES } from '@hub/domain';
import { AppError, badRequest, notFound, parseInput, parseJsonBody, unauthorized } from '@hub/http';
import { SES_SNS_PATH, TWILIO_STATUS_CALLBACK_PATH } from '@hub/vendors/receipt-urls';
import type { Deps } from '../deps.ts';
import { receiveSnsMessage } from '../usecases/receive-sns-message.ts';
import { recordDeliveryStatus } from '../usecases/record-delivery-status.ts';
import { SnsMessageVerifier, awsSnsTrust, snsEnvelopeSchema } from './vendor-receipts-sns.ts';
import { twilioDeliveryStatus, verifyTwilioSignature } from './vendor-receipts-twilio.ts';

const API_PREFIX = '/api/v1';
const under = (path: string) => path.slice(API_PREFIX.length);

export const twilioParams = z.object({ attemptId: z.uuid({ message: 'must be a UUID' }) });
// Only the fields the hub reads; Twilio sends many more (To, From, AccountSid, ApiVersion, …).
const twilioStatusForm = z.object({
  MessageStatus: z.string().min(1).max(32),
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-f]{32}$/, 'must be a Twilio message SID').optional(),
  ErrorCode: z.string().regex(/^\d{1,6}$/, 'must be a Twilio error code').optional(),
});

export const vendorReceiptResponse = z.object({
  attemptId: z.uuid(),
  outcome: z.enum(['applied', 'ignored']),
  deliveryStatus: z.enum(DELIVERY_STATUSES).nullable(),
});
export const snsResponse = z.object({
  messageId: z.string(),
  type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
  outcome: z.enum(['applied', 'confirmed', 'ignored', 'duplicate']),
  attemptId: z.uuid().optional(),
  deliveryStatus: z.enum(DELIVERY_STATUSES).nullable().optional(),
});

// An SNS message may be at most this far in the future (clock skew between AWS and the hub).
const SNS_FUTURE_SKEW_MS = 300_000;

/** The vendors' own receipt formats (issue 15); public routes, each verified by its vendor's signature. */
export function vendorReceiptRoutes(deps: Deps): Router {
  const router = Router();
  const trust = deps.snsTrust ?? awsSnsTrust;
  const sns = { verifier: new SnsMessageVerifier(trust), trust };
  // Raw bytes: Twilio signs the form parameters as sent, SNS the values of its JSON document.
  const raw = express.raw({ type: () => true, limit: deps.config.BODY_LIMIT_BYTES });
  const countRejected = (vendor: string, err: unknown) => {
    if (err instanceof AppError && err.status === 401) deps.metrics.deliveryAcks.inc({ vendor, outcome: 'rejected' });
  };

  router.post(under(TWILIO_STATUS_CALLBACK_PATH), raw, async (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!req.is('application/x-www-form-urlencoded')) {
      throw badRequest('a Twilio status callback is application/x-www-form-urlencoded', { errors: [{ field: 'content-type', message: 'must be application/x-www-form-urlencoded' }] });
    }
    const form = new URLSearchParams(utf8(rawBody));
    try {
      verifyTwilioSignature(deps.config, { signature: req.get('x-twilio-signature'), originalUrl: req.originalUrl, params: form });
    } catch (err) {
      countRejected('twilio', err);
      throw err;
    }
    const { attemptId } = parseInput(twilioParams, req.params, 'params');
    const fields = parseInput(twilioStatusForm, singleValues(form), 'body');
    const mapped = twilioDeliveryStatus(fields.MessageStatus, fields.ErrorCode);
    if (!mapped) {
      // Progress (queued, sent, …): Twilio expects a 2xx; nothing changes.
      res.status(200).json({ attemptId: attemptId.toLowerCase(), outcome: 'ignored', deliveryStatus: null });
      return;
    }
    // Replays: Twilio does not timestamp its callbacks, so the same callback again is told
    // apart by its effect: the same status on the same attempt changes nothing (ADR 0026).
    const result = await recordDeliveryStatus(deps, {
      vendor: 'twilio',
      channel: 'SMS',
      attempt: { id: attemptId.toLowerCase() },
      status: mapped.status,
      reason: mapped.reason,
      vendorMessageId: fields.MessageSid,
    });
    if (!result) throw notFound('NOT_FOUND', `attempt ${attemptId} does not exist`);
    res.status(200).json({ attemptId: result.attemptId, outcome: result.applied ? 'applied' : 'ignored', deliveryStatus: result.deliveryStatus });
  });

  router.post(under(SES_SNS_PATH), raw, async (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // SNS posts text/plain; the document is JSON whatever the content type says.
    const envelope = parseInput(snsEnvelopeSchema, parseJsonBody(rawBody), 'body');
    if (req.get('x-amz-sns-message-type') !== envelope.Type) {
      throw badRequest('x-amz-sns-message-type must match the message Type', { errors: [{ field: 'x-amz-sns-message-type', message: `must be ${envelope.Type}` }] });
    }
    const now = deps.clock();
    try {
      // Cheap refusals first: a foreign topic or a stale message never costs a certificate fetch.
      if (!deps.config.SES_SNS_TOPIC_ARNS.includes(envelope.TopicArn)) throw unauthorized('UNAUTHORIZED', 'TopicArn is not accepted');
      const age = now.getTime() - Date.parse(envelope.Timestamp);
      if (age > deps.config.SNS_MAX_AGE_MS || age < -SNS_FUTURE_SKEW_MS) throw unauthorized('UNAUTHORIZED', 'Timestamp outside the accepted window');
      await sns.verifier.verify(envelope, now);
    } catch (err) {
      countRejected('ses', err);
      throw err;
    }
    res.status(200).json(await receiveSnsMessage({ ...deps, sns }, envelope));
  });

  return router;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(raw: Buffer): string {
  try {
    return decoder.decode(raw);
  } catch {
    throw badRequest('request body is not UTF-8', { errors: [{ field: 'body', message: 'is not UTF-8' }] });
  }
}

/** Form fields as a plain object for validation; a repeated field is malformed (400 via zod). */
function singleValues(form: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name of new Set(form.keys())) {
    const values = form.getAll(name);
    out[name] = values.length === 1 ? values[0]! : values;
  }
  return out;
}
