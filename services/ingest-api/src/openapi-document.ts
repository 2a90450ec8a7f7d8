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
} from './schemas.ts';

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
        200: { description: 'SUPPRESSED with suppressionReason', schema: sendNotificationResponse },
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
