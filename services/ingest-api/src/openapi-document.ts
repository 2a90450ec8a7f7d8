import { z } from 'zod';
import { openApiDocument, type OpenApiResponse, type OpenApiRoute } from '@hub/http';
import {
  ackBody,
  ackParams,
  ackResponse,
  createTemplateBody,
  deviceResponse,
  historyQuery,
  historyResponse,
  idParams,
  idempotencyHeaders,
  listTemplatesQuery,
  notificationDetail,
  preferencesParams,
  preferencesResponse,
  putPreferencesBody,
  putRecipientBody,
  recipientParams,
  recipientResponse,
  registerDeviceBody,
  sendNotificationBody,
  sendNotificationResponse,
  templateResponse,
  unsubscribeParams,
  unsubscribeResponse,
} from './schemas.ts';
import { SES_SNS_PATH, TWILIO_STATUS_CALLBACK_PATH } from '@hub/vendors/receipt-urls';
import { snsEnvelopeSchema } from './routes/vendor-receipts-sns.ts';
import { snsResponse, twilioParams, vendorReceiptResponse } from './routes/vendor-receipts.ts';

const under = (path: string) => path.replace(/^\/api\/v1/, '');

const bad = { 400: { description: 'invalid input (errors name each field)' } };

/** The ingest-api OpenAPI 3.1 document, from the same zod schemas the routes validate with. */
export function ingestOpenApi(options: { authenticated: boolean }): Record<string, unknown> {
  const security = options.authenticated ? ['bearer'] : undefined;
  // With INGEST_JWKS_URL set, every route but the vendor receipts needs a caller (ADR 0021).
  const guarded = (route: OpenApiRoute): OpenApiRoute =>
    security
      ? {
          ...route,
          security,
          responses: {
            ...route.responses,
            401: { description: 'UNAUTHORIZED: missing or invalid Bearer JWT (signature, expiry, issuer, audience, sub)' },
            503: { description: 'UNAVAILABLE: the JWKS cannot be fetched to verify the token; Retry-After says when to try again' },
          },
        }
      : route;
  /** Answers that exist only when callers are authenticated. */
  const whenAuthenticated = (responses: Record<number, OpenApiResponse>): Record<number, OpenApiResponse> => (security ? responses : {});
  // Routes that act for the deployment, closed to a token with a recipient_id claim.
  const serviceOnly = whenAuthenticated({ 403: { description: 'FORBIDDEN: a recipient-scoped token may not use this route' } });
  const routes: OpenApiRoute[] = [
    guarded({
      method: 'post',
      path: '/notifications',
      tags: ['notifications'],
      summary: 'Send a notification',
      description: 'Resolves channels from preferences and quiet hours, applies the rate limit and writes notification, attempts and outbox rows in one transaction.',
      headers: z.object({ 'Idempotency-Key': idempotencyHeaders.shape['idempotency-key'] }),
      body: sendNotificationBody,
      responses: {
        202: { description: 'FANNED_OUT, or SCHEDULED with scheduledFor', schema: sendNotificationResponse },
        200: {
          description: 'SUPPRESSED with suppressionReason: OPT_OUT, QUIET_HOURS, NO_ELIGIBLE_CHANNEL, or SUPPRESSED_ADDRESS when every eligible address is on the suppression list (hard bounce, complaint)',
          schema: sendNotificationResponse,
        },
        ...bad,
        404: { description: 'RECIPIENT_NOT_FOUND or TEMPLATE_NOT_FOUND' },
        ...serviceOnly,
        409: { description: 'DUPLICATE_REQUEST (body names the original notificationId)' },
        413: { description: 'PAYLOAD_TOO_LARGE' },
        429: { description: 'RATE_LIMIT_EXCEEDED with Retry-After and retryAfterMillis' },
      },
    }),
    guarded({
      method: 'get',
      path: '/notifications/me',
      tags: ['notifications'],
      summary: "A recipient's notifications, newest first (keyset cursor)",
      query: historyQuery,
      responses: {
        200: { description: 'one page', schema: historyResponse },
        ...bad,
        ...whenAuthenticated({ 404: { description: 'RECIPIENT_NOT_FOUND: not a recipient this caller may see' } }),
      },
    }),
    guarded({
      method: 'get',
      path: '/notifications/:id',
      tags: ['notifications'],
      summary: 'A notification with its delivery attempts (masked addresses)',
      params: idParams,
      responses: { 200: { description: 'the notification', schema: notificationDetail }, ...bad, 404: { description: 'NOT_FOUND' } },
    }),
    guarded({
      method: 'put',
      path: '/recipients/:id',
      tags: ['recipients'],
      summary: "Create or replace a recipient's directory entry",
      params: recipientParams,
      body: putRecipientBody,
      responses: {
        201: { description: 'created', schema: recipientResponse },
        200: { description: 'replaced', schema: recipientResponse },
        ...bad,
        ...whenAuthenticated({
          403: { description: 'FORBIDDEN: the id belongs to another caller' },
          404: { description: 'RECIPIENT_NOT_FOUND: a recipient-scoped token replaces its own existing entry only' },
        }),
      },
    }),
    guarded({
      method: 'get',
      path: '/recipients/:id',
      tags: ['recipients'],
      summary: 'A recipient',
      params: recipientParams,
      responses: { 200: { description: 'the recipient', schema: recipientResponse }, ...bad, 404: { description: 'RECIPIENT_NOT_FOUND' } },
    }),
    guarded({
      method: 'put',
      path: '/users/:recipientId/preferences',
      tags: ['preferences'],
      summary: 'Partially update preferences; returns the effective preferences',
      params: preferencesParams,
      body: putPreferencesBody,
      responses: { 200: { description: 'effective preferences', schema: preferencesResponse }, ...bad, 404: { description: 'RECIPIENT_NOT_FOUND' } },
    }),
    guarded({
      method: 'get',
      path: '/users/:recipientId/preferences',
      tags: ['preferences'],
      summary: 'Effective preferences (defaults applied)',
      params: preferencesParams,
      responses: { 200: { description: 'effective preferences', schema: preferencesResponse }, ...bad, 404: { description: 'RECIPIENT_NOT_FOUND' } },
    }),
    guarded({
      method: 'post',
      path: '/devices',
      tags: ['devices'],
      summary: 'Register a device token (an existing token returns its registration, or moves to this recipient)',
      description:
        'A token new to the hub is registered (201). A token registered for this recipient returns that registration unchanged (200); one registered for another recipient moves here (200, same id, active again): the phone changed hands and its previous owner stops receiving on it.',
      body: registerDeviceBody,
      responses: {
        201: { description: 'registered', schema: deviceResponse },
        200: { description: 'already registered for this recipient, or moved here from another', schema: deviceResponse },
        ...bad,
        404: { description: 'RECIPIENT_NOT_FOUND' },
      },
    }),
    guarded({
      method: 'delete',
      path: '/devices/:id',
      tags: ['devices'],
      summary: 'Unregister a device',
      params: idParams,
      responses: { 204: { description: 'unregistered' }, ...bad, 404: { description: 'NOT_FOUND' } },
    }),
    guarded({
      method: 'post',
      path: '/templates',
      tags: ['templates'],
      summary: 'Create a template version',
      body: createTemplateBody,
      responses: { 201: { description: 'created', schema: templateResponse }, ...bad, ...serviceOnly, 409: { description: 'CONFLICT: (key, locale, channelType) exists' } },
    }),
    guarded({
      method: 'get',
      path: '/templates',
      tags: ['templates'],
      summary: 'Every version of a template key',
      query: listTemplatesQuery,
      responses: { 200: { description: 'versions', schema: z.object({ items: z.array(templateResponse) }) }, ...bad, ...serviceOnly },
    }),
    {
      method: 'get',
      path: '/unsubscribe/:token',
      tags: ['unsubscribe'],
      summary: 'One-click unsubscribe confirmation page (HTML)',
      description:
        'The List-Unsubscribe link of MARKETING mail opened in a browser: a page whose button POSTs to the same URL. Changes nothing (mail scanners prefetch links). No caller token: the link is signed (HMAC-SHA256).',
      params: unsubscribeParams,
      responses: {
        200: { description: 'text/html confirmation page' },
        ...bad,
        401: { description: 'INVALID_UNSUBSCRIBE_LINK (forged), UNSUBSCRIBE_LINK_EXPIRED, or UNSUBSCRIBE_DISABLED (no signing secret)' },
      },
    },
    {
      method: 'post',
      path: '/unsubscribe/:token',
      tags: ['unsubscribe'],
      summary: 'One-click unsubscribe (RFC 8058)',
      description:
        'Body `List-Unsubscribe=One-Click` (application/x-www-form-urlencoded or multipart/form-data). Opts the link\'s recipient out of MARKETING, audited; repeating it changes nothing. No caller token: the link is signed. Answers JSON, or an HTML page to a browser form.',
      params: unsubscribeParams,
      responses: {
        200: { description: 'opted out of MARKETING', schema: unsubscribeResponse },
        ...bad,
        401: { description: 'INVALID_UNSUBSCRIBE_LINK (forged), UNSUBSCRIBE_LINK_EXPIRED, or UNSUBSCRIBE_DISABLED (no signing secret)' },
        404: { description: 'RECIPIENT_NOT_FOUND: the recipient was deleted' },
      },
    },
    {
      method: 'post',
      path: '/deliveries/:attemptId/ack',
      tags: ['deliveries'],
      summary: 'Vendor delivery receipt (HMAC-signed)',
      description:
        'X-Notification-Hub-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<attemptId>.<raw body>")> (the attempt id of the path is signed). Unknown vendor, missing secret, skew > 300 s, mismatch or replay → 401; the same receipt while it is still being processed → 409 REQUEST_IN_PROGRESS; Redis down → 503.',
      params: ackParams,
      headers: z.object({
        'X-Notification-Hub-Vendor': z.enum(['fcm', 'ses', 'twilio', 'kakao']),
        'X-Notification-Hub-Timestamp': z.string().describe('epoch milliseconds'),
        'X-Notification-Hub-Signature': z.string().describe('v1=<lowercase hex>'),
      }),
      body: ackBody,
      responses: {
        202: { description: 'applied, or ignored when the attempt was already final', schema: ackResponse },
        ...bad,
        401: { description: 'signature, timestamp, vendor or replay check failed' },
        404: { description: 'unknown attempt' },
      },
    },
    {
      method: 'post',
      path: under(TWILIO_STATUS_CALLBACK_PATH),
      tags: ['deliveries'],
      summary: 'Twilio status callback (X-Twilio-Signature)',
      description:
        'The StatusCallback of each SMS: application/x-www-form-urlencoded as Twilio posts it (MessageStatus, MessageSid, ErrorCode, …), signed with X-Twilio-Signature (base64 HMAC-SHA1 with the auth token over PUBLIC_BASE_URL + path and the sorted parameters). delivered → DELIVERED; undelivered/failed → UNDELIVERED, or BOUNCED (address suppressed) for error 30005/30006; other statuses are acknowledged and ignored. The same status again changes nothing.',
      params: twilioParams,
      headers: z.object({ 'X-Twilio-Signature': z.string().describe('base64 HMAC-SHA1') }),
      responses: {
        200: { description: 'applied, or ignored (progress status, same status again)', schema: vendorReceiptResponse },
        ...bad,
        401: { description: 'signature missing or wrong, or Twilio callbacks not configured' },
        404: { description: 'unknown SMS attempt' },
      },
    },
    {
      method: 'post',
      path: under(SES_SNS_PATH),
      tags: ['deliveries'],
      summary: 'SES events through an SNS HTTPS subscription',
      description:
        'The JSON document SNS posts (sent as text/plain), with x-amz-sns-message-type. Verified as AWS documents: TopicArn in SES_SNS_TOPIC_ARNS, Timestamp within SNS_MAX_AGE_MS, signature (SignatureVersion 1 SHA1 or 2 SHA256) with the certificate at SigningCertURL (https://sns.<region>.amazonaws.com only). SubscriptionConfirmation is confirmed; a Notification carries an SES event: Delivery → DELIVERED, Permanent bounce → BOUNCED, other bounces → UNDELIVERED, Complaint → COMPLAINED; bounced and complained addresses are suppressed. A MessageId already processed answers duplicate and changes nothing.',
      headers: z.object({ 'x-amz-sns-message-type': z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']) }),
      body: snsEnvelopeSchema,
      responses: {
        200: { description: 'applied, confirmed, ignored or duplicate', schema: snsResponse },
        ...bad,
        401: { description: 'topic not accepted, stale timestamp, untrusted certificate URL or signature mismatch' },
        409: { description: 'REQUEST_IN_PROGRESS: the same MessageId is being processed' },
        503: { description: 'the signing certificate could not be fetched, the subscription could not be confirmed, or Redis is down' },
      },
    },
  ];
  return openApiDocument({
    title: 'Notification Hub ingest API',
    version: '1.0.0',
    description: 'Send notifications, manage recipients, preferences, devices and templates, receive vendor receipts.',
    basePath: '/api/v1',
    routes,
    ...(security ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } } : {}),
  });
}
