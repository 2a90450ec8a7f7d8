import { z } from 'zod';
import {
  CHANNELS,
  KINDS,
  LOCALE_PATTERN,
  HH_MM_PATTERN,
  NOTIFICATION_STATUSES,
  ATTEMPT_STATUSES,
  QUIET_HOURS_POLICIES,
  SMS_BODY_MAX,
  SUPPRESSION_REASONS,
  TEMPLATE_BODY_MAX,
  TEMPLATE_HTML_BODY_MAX,
  TEMPLATE_KEY_PATTERN,
  TEMPLATE_TITLE_MAX,
  addressRule,
  isValidAddress,
  isValidTimeZone,
  normalizeLocale,
} from '@hub/domain';

// The zod schemas every route validates with; the OpenAPI document is generated from them.

export const recipientId = z.string().trim().min(1).max(128).describe('recipient id (trimmed, 1-128 chars)');
// The pattern alone allows any length: a 10,000-character key was stored, and the unique index
// on templates cannot hold an entry over ~2.7 kB (an insert past it fails with a 500).
const templateKey = z.string().max(128).regex(TEMPLATE_KEY_PATTERN, 'must look like auth.otp.v1');
const uuid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID');
const timezone = z
  .string()
  .trim()
  .refine(isValidTimeZone, { message: 'must be an IANA time zone such as Asia/Seoul' })
  .describe('IANA time zone');
const locale = z
  .string()
  .transform(normalizeLocale)
  .pipe(z.string().regex(LOCALE_PATTERN, 'must look like ko-kr or en'))
  .describe('locale, trimmed and lowercased (ko-kr)');

// Template variables of one notification (SPEC §3 `payload`). A template renders at most a
// 200-character title and a 4000-character body (12 KB of UTF-8 at worst), so 100 variables and
// 16 KiB of JSON leave room for any real template, while without a bound one request could
// store a megabyte of jsonb (the body limit) in every notification and its outbox row.
export const PAYLOAD_MAX_KEYS = 100;
export const PAYLOAD_MAX_BYTES = 16_384;

const payloadEntries = z
  .record(z.string().min(1).max(128), z.string().max(4000))
  .meta({ maxProperties: PAYLOAD_MAX_KEYS })
  .describe(`template variables: at most ${PAYLOAD_MAX_KEYS} keys and ${PAYLOAD_MAX_BYTES} bytes as JSON`);

// The bounds are checked before the entries, so 20,000 keys are one error, not 20,000.
const payload = z.preprocess((value, ctx) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value).length;
  if (keys > PAYLOAD_MAX_KEYS) {
    ctx.addIssue({ code: 'too_big', origin: 'object', maximum: PAYLOAD_MAX_KEYS, input: value, message: `at most ${PAYLOAD_MAX_KEYS} keys (got ${keys})` });
    return z.NEVER;
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > PAYLOAD_MAX_BYTES) {
    ctx.addIssue({ code: 'too_big', origin: 'object', maximum: PAYLOAD_MAX_BYTES, input: value, message: `at most ${PAYLOAD_MAX_BYTES} bytes as JSON (got ${bytes})` });
    return z.NEVER;
  }
  return value;
}, payloadEntries);

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1, 'Idempotency-Key header is required').max(128),
});

export const sendNotificationBody = z
  .object({
    recipientId,
    kind: z.enum(KINDS),
    title: z.string().min(1).max(200).optional(),
    body: z.string().min(1).max(4000).optional(),
    templateKey: templateKey.optional(),
    payload: payload.default({}),
    onQuietHours: z.enum(QUIET_HOURS_POLICIES).default('SUPPRESS'),
  })
  .superRefine((value, ctx) => {
    const direct = value.title !== undefined || value.body !== undefined;
    if (value.templateKey !== undefined && direct) {
      ctx.addIssue({ code: 'custom', path: ['templateKey'], message: 'give either templateKey or title and body, not both' });
    } else if (value.templateKey === undefined) {
      if (value.title === undefined) ctx.addIssue({ code: 'custom', path: ['title'], message: 'title is required without templateKey' });
      if (value.body === undefined) ctx.addIssue({ code: 'custom', path: ['body'], message: 'body is required without templateKey' });
    }
  })
  .describe('either title and body, or templateKey (with payload for its placeholders), not both');
export type SendNotificationBody = z.infer<typeof sendNotificationBody>;

export const sendNotificationResponse = z.object({
  notificationId: z.string(),
  status: z.enum(['FANNED_OUT', 'SCHEDULED', 'SUPPRESSED']),
  dispatchedChannels: z.array(z.enum(CHANNELS)).describe('one entry per delivery; PUSH once per device'),
  suppressionReason: z.enum(SUPPRESSION_REASONS).nullable(),
  scheduledFor: z.string().nullable().optional(),
});

export const historyQuery = z.object({
  recipientId,
  cursor: uuid.optional().describe('the last notificationId of the previous page'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const historyResponse = z.object({
  items: z.array(
    z.object({ notificationId: z.string(), title: z.string().nullable(), kind: z.enum(KINDS), status: z.enum(NOTIFICATION_STATUSES), createdAt: z.string() }),
  ),
  nextCursor: z.string().nullable(),
});

export const idParams = z.object({ id: uuid });

export const notificationDetail = z.object({
  notificationId: z.string(),
  recipientId: z.string(),
  kind: z.enum(KINDS),
  status: z.enum(NOTIFICATION_STATUSES),
  title: z.string().nullable(),
  body: z.string().nullable(),
  templateKey: z.string().nullable(),
  suppressionReason: z.string().nullable(),
  scheduledFor: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  attempts: z.array(
    z.object({
      attemptId: z.string(),
      channel: z.enum(CHANNELS),
      address: z.string().describe('masked'),
      status: z.enum(ATTEMPT_STATUSES),
      retryCount: z.number(),
      smsSegments: z.number().nullable(),
      vendorMessageId: z.string().nullable(),
      failureReason: z.string().nullable(),
      createdAt: z.string(),
      updatedAt: z.string(),
      dispatchedAt: z.string().nullable(),
      completedAt: z.string().nullable(),
    }),
  ),
});

const directoryChannel = z
  .object({
    type: z.enum(['EMAIL', 'SMS', 'KAKAO_ALIMTALK']),
    // 254: the longest address SMTP can carry (RFC 5321); phone numbers are shorter still.
    address: z.string().trim().min(1).max(254),
  })
  .superRefine((value, ctx) => {
    if (!isValidAddress(value.type, value.address)) ctx.addIssue({ code: 'custom', path: ['address'], message: addressRule(value.type) });
  });

export const recipientParams = z.object({ id: recipientId });

export const putRecipientBody = z.object({
  channels: z.array(directoryChannel).max(20),
  locale: locale.optional(),
  timezone: timezone.optional(),
});

export const recipientResponse = z.object({
  id: z.string(),
  channels: z.array(z.object({ type: z.enum(['EMAIL', 'SMS', 'KAKAO_ALIMTALK']), address: z.string() })),
  locale: z.string(),
  timezone: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const preferencesParams = z.object({ recipientId });

export const putPreferencesBody = z
  .object({
    kind: z.enum(KINDS).optional(),
    allowed: z.boolean().optional(),
    preferredChannels: z.array(z.enum(CHANNELS)).max(4).optional(),
    quietStart: z.string().regex(HH_MM_PATTERN, 'must be HH:mm').optional(),
    quietEnd: z.string().regex(HH_MM_PATTERN, 'must be HH:mm').optional(),
    disableQuietHours: z.boolean().optional(),
    timezone: timezone.nullable().optional(),
  })
  .superRefine((value, ctx) => {
    if (value.kind === undefined) {
      if (value.allowed !== undefined) ctx.addIssue({ code: 'custom', path: ['allowed'], message: 'allowed needs kind' });
      if (value.preferredChannels !== undefined) ctx.addIssue({ code: 'custom', path: ['preferredChannels'], message: 'preferredChannels needs kind' });
    }
  });
export type PutPreferencesBody = z.infer<typeof putPreferencesBody>;

export const preferencesResponse = z.object({
  recipientId: z.string(),
  kinds: z.record(z.enum(KINDS), z.object({ allowed: z.boolean(), mandatory: z.boolean(), preferredChannels: z.array(z.enum(CHANNELS)) })),
  quietHours: z.object({ enabled: z.boolean(), start: z.string(), end: z.string() }),
  timezone: z.string(),
});

export const registerDeviceBody = z.object({
  recipientId,
  platform: z.enum(['ANDROID', 'IOS', 'WEB']),
  token: z
    .string()
    .trim()
    .min(32)
    .max(256)
    .regex(/^\S+$/, 'must not contain spaces'),
});

export const deviceResponse = z.object({
  id: z.string(),
  recipientId: z.string(),
  platform: z.enum(['ANDROID', 'IOS', 'WEB']),
  active: z.boolean(),
  createdAt: z.string(),
});

// Kakao AlimTalk (NAVER SENS) limits: content up to 1,000 characters, at most 5 buttons, button
// names up to 14 characters. Types: WL web link, AL app link, DS delivery tracking, BK bot keyword,
// MD message delivery, AC channel add, BC/BT chat handover, BF business form.
export const ALIMTALK_CONTENT_MAX = 1_000;
export const ALIMTALK_BUTTONS_MAX = 5;
export const ALIMTALK_BUTTON_TYPES = ['WL', 'AL', 'DS', 'BK', 'MD', 'AC', 'BC', 'BT', 'BF'] as const;
const httpLink = z
  .string()
  .max(1000)
  .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL (placeholders allowed)');
const appScheme = z.string().min(1).max(1000).regex(/^\S+$/, 'must not contain spaces');

const alimtalkButton = z
  .strictObject({
    type: z.enum(ALIMTALK_BUTTON_TYPES),
    name: z.string().trim().min(1).max(14),
    linkMobile: httpLink.optional(),
    linkPc: httpLink.optional(),
    schemeIos: appScheme.optional(),
    schemeAndroid: appScheme.optional(),
  })
  .superRefine((button, ctx) => {
    const links = (['linkMobile', 'linkPc', 'schemeIos', 'schemeAndroid'] as const).filter((f) => button[f] !== undefined);
    if (button.type === 'WL' && button.linkMobile === undefined) ctx.addIssue({ code: 'custom', path: ['linkMobile'], message: 'a WL button needs linkMobile' });
    if (button.type === 'AL') {
      for (const f of ['schemeIos', 'schemeAndroid'] as const) {
        if (button[f] === undefined) ctx.addIssue({ code: 'custom', path: [f], message: `an AL button needs ${f}` });
      }
    }
    if (button.type !== 'WL' && button.type !== 'AL') {
      for (const f of links) ctx.addIssue({ code: 'custom', path: [f], message: `only WL and AL buttons carry links` });
    }
  })
  .describe('a SENS AlimTalk button, as approved with the template; links may hold {placeholders}');

export const createTemplateBody = z
  .object({
    key: templateKey,
    locale,
    channelType: z.enum(CHANNELS),
    titleTemplate: z.string().min(1).max(TEMPLATE_TITLE_MAX),
    bodyTemplate: z.string().min(1).max(TEMPLATE_BODY_MAX),
    htmlBody: z
      .string()
      .min(1)
      .max(TEMPLATE_HTML_BODY_MAX)
      .optional()
      .describe('EMAIL only: the HTML part next to bodyTemplate (text part); placeholder values are HTML-escaped in it, and only in it'),
    providerTemplateCode: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .optional()
      .describe('KAKAO_ALIMTALK only, and required there: the template code approved at the provider (SENS templateCode)'),
    buttons: z
      .array(alimtalkButton)
      .max(ALIMTALK_BUTTONS_MAX)
      .optional()
      .describe(`KAKAO_ALIMTALK only: the buttons approved with the template (at most ${ALIMTALK_BUTTONS_MAX})`),
  })
  .superRefine((value, ctx) => {
    if (value.channelType === 'SMS' && value.bodyTemplate.length > SMS_BODY_MAX) {
      ctx.addIssue({ code: 'custom', path: ['bodyTemplate'], message: `SMS bodies are at most ${SMS_BODY_MAX} characters` });
    }
    if (value.htmlBody !== undefined && value.channelType !== 'EMAIL') {
      ctx.addIssue({ code: 'custom', path: ['htmlBody'], message: 'only EMAIL templates have an HTML body' });
    }
    // AlimTalk sends only what matches a template approved at the provider (ADR 0027).
    if (value.channelType === 'KAKAO_ALIMTALK') {
      if (value.providerTemplateCode === undefined) {
        ctx.addIssue({ code: 'custom', path: ['providerTemplateCode'], message: 'KAKAO_ALIMTALK templates need the template code approved at the provider' });
      }
      if (value.bodyTemplate.length > ALIMTALK_CONTENT_MAX) {
        ctx.addIssue({ code: 'custom', path: ['bodyTemplate'], message: `AlimTalk bodies are at most ${ALIMTALK_CONTENT_MAX} characters` });
      }
    } else {
      if (value.providerTemplateCode !== undefined) ctx.addIssue({ code: 'custom', path: ['providerTemplateCode'], message: 'only KAKAO_ALIMTALK templates have a provider template code' });
      if (value.buttons !== undefined) ctx.addIssue({ code: 'custom', path: ['buttons'], message: 'only KAKAO_ALIMTALK templates have buttons' });
    }
  });

export const templateResponse = z.object({
  id: z.string(),
  key: z.string(),
  locale: z.string(),
  channelType: z.enum(CHANNELS),
  titleTemplate: z.string(),
  bodyTemplate: z.string(),
  htmlBody: z.string().nullable(),
  providerTemplateCode: z.string().nullable(),
  buttons: z
    .array(
      z.object({
        type: z.string(),
        name: z.string(),
        linkMobile: z.string().optional(),
        linkPc: z.string().optional(),
        schemeIos: z.string().optional(),
        schemeAndroid: z.string().optional(),
      }),
    )
    .nullable(),
  createdAt: z.string(),
});

export const listTemplatesQuery = z.object({ key: templateKey });

// A signed one-click unsubscribe link: base64url payload, a dot, base64url HMAC.
export const unsubscribeParams = z.object({
  token: z.string().max(1024).regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be an unsubscribe link token'),
});

export const unsubscribeResponse = z.object({
  kind: z.literal('MARKETING'),
  allowed: z.literal(false),
  changed: z.boolean().describe('false when the recipient had opted out already'),
});

export const VENDORS = ['fcm', 'ses', 'twilio', 'kakao'] as const;
export type Vendor = (typeof VENDORS)[number];

export const ackHeaders = z.object({
  'x-notification-hub-vendor': z.string(),
  'x-notification-hub-timestamp': z.string(),
  'x-notification-hub-signature': z.string(),
});

export const ackParams = z.object({ attemptId: uuid });

export const ackBody = z.object({
  success: z.boolean(),
  vendorMessageId: z.string().min(1).max(256).optional(),
  failureReason: z.string().min(1).max(1000).optional(),
});

export const ackResponse = z.object({
  attemptId: z.string(),
  status: z.enum(ATTEMPT_STATUSES),
  applied: z.boolean().describe('false when the attempt was already final (receipt ignored)'),
});
