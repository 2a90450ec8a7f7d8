import { notificationWrite, type NotificationWrite } from '@hub/attempts';
import {
  effectivePreferences,
  missingVariables,
  renderTemplate,
  resolveChannels,
  SMS_BODY_MAX,
  suppressionKey,
  type Channel,
  type ResolvedDelivery,
  type SuppressionReason,
} from '@hub/domain';
import { MicroBatcher, newId, type AlimtalkButton, type Template } from '@hub/db';
import { sql } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { AppError, badRequest, notFound, unavailable } from '@hub/http';
import { traceHeaders } from '@hub/observability';
import type { Deps } from '../deps.ts';
import { claimIdempotencyKey, idempotencyKeyTtlMs, readIdempotencyKey, releaseIdempotencyKey, rememberIdempotencyKey } from '../idempotency.ts';
import { IdempotencyKeyTaken } from '../notification-writer.ts';
import { consumeRateLimit, refundRateLimit } from '../rate-limit.ts';
import type { SendNotificationBody } from '../schemas.ts';

export interface SendNotificationResult {
  notificationId: string;
  status: 'FANNED_OUT' | 'SCHEDULED' | 'SUPPRESSED';
  dispatchedChannels: Channel[];
  suppressionReason: SuppressionReason | null;
  scheduledFor: Date | null;
}

export const duplicateRequest = (notificationId: string) =>
  new AppError({
    code: 'DUPLICATE_REQUEST',
    status: 409,
    message: 'this Idempotency-Key was already used',
    details: { notificationId },
  });

type Pick_ = Pick<Deps, 'db' | 'sql' | 'redis' | 'clock' | 'config' | 'topics' | 'metrics' | 'logger' | 'writer' | 'recipients'>;

/**
 * POST /notifications. Order matters: claim the key (Redis SET NX, pending), resolve channels and
 * render, take the rate limit for every channel at once, then write notification + attempts +
 * outbox + audit in one transaction whose first insert is the key's Postgres row (the
 * guarantee), and mark the key committed. Anything failing before commit releases the key and
 * refunds the rate limit. A 409 DUPLICATE_REQUEST only ever names a committed notification
 * (SPEC §3): a key held by a request still in flight is waited for, then answered.
 */
export async function sendNotification(
  deps: Pick_,
  input: { idempotencyKey: string; body: SendNotificationBody; createdBy?: string | undefined },
): Promise<SendNotificationResult> {
  const { redis, config } = deps;
  const notificationId = newId();
  // The claim and the (side-effect free) recipient read run concurrently: one round trip of
  // latency instead of two on the hot path.
  const [claim, snapshot] = await Promise.allSettled([
    viaRedis(() => claimIdempotencyKey(redis, input.idempotencyKey, notificationId, config.IDEMPOTENCY_CLAIM_TTL_MS)),
    loadRecipient(deps, input.body.recipientId),
  ]);
  if (claim.status === 'rejected') throw claim.reason;
  let held = claim.value;
  const waitUntil = Date.now() + config.IDEMPOTENCY_WAIT_MS;
  while (!held.claimed) {
    const answer = await awaitHolder(deps, input.idempotencyKey, held, waitUntil);
    if (answer instanceof AppError) {
      deps.metrics.idempotencyConflicts.inc();
      throw answer;
    }
    // The holder released the key (it failed) or its claim expired (it died): ours to take.
    held = await viaRedis(() => claimIdempotencyKey(redis, input.idempotencyKey, notificationId, config.IDEMPOTENCY_CLAIM_TTL_MS));
  }
  let committed = false;
  try {
    if (snapshot.status === 'rejected') throw snapshot.reason;
    const result = await accept(deps, { ...input, notificationId, snapshot: snapshot.value });
    committed = true;
    // A repeat is now answered from Redis at once. If Redis is down, the pending claim expires
    // and Postgres still answers for the key.
    await rememberIdempotencyKey(redis, input.idempotencyKey, notificationId, config.IDEMPOTENCY_TTL_SECONDS).catch((err: unknown) =>
      deps.logger.warn({ err, notificationId }, 'could not mark the idempotency key committed'),
    );
    return result;
  } catch (err) {
    if (err instanceof IdempotencyKeyTaken) {
      committed = true; // the key is legitimately taken: keep it, pointing at its (committed) owner
      await rememberIdempotencyKey(redis, input.idempotencyKey, err.notificationId, config.IDEMPOTENCY_TTL_SECONDS).catch(() => {});
      deps.metrics.idempotencyConflicts.inc();
      throw duplicateRequest(err.notificationId);
    }
    throw err;
  } finally {
    if (!committed) {
      await releaseIdempotencyKey(redis, input.idempotencyKey, notificationId).catch((err: unknown) =>
        deps.logger.warn({ err, notificationId }, 'could not release idempotency key'),
      );
    }
  }
}

/**
 * What to do about a key another request holds. Committed → 409 naming it. Pending → wait (until
 * `waitUntil`, IDEMPOTENCY_WAIT_MS after arrival) for the holder's outcome, asking Postgres, the
 * guarantee, which only shows a committed row: 409 DUPLICATE_REQUEST naming it; `'free'` once
 * the holder released the key (it failed) or its claim expired (it died); 409
 * REQUEST_IN_PROGRESS with Retry-After while it is still undecided. Never the id of a request
 * in flight: it may yet fail (SPEC §3).
 */
async function awaitHolder(
  deps: Pick_,
  idempotencyKey: string,
  held: { state: 'pending' | 'committed'; notificationId: string },
  waitUntil: number,
): Promise<AppError | 'free'> {
  if (held.state === 'committed') return duplicateRequest(held.notificationId);
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    const row = await deps.db.selectFrom('idempotency_keys').select('notification_id').where('key', '=', idempotencyKey).executeTakeFirst();
    if (row) return duplicateRequest(row.notification_id);
    const now = await viaRedis(() => readIdempotencyKey(deps.redis, idempotencyKey));
    if (now === null) return 'free';
    if (now.state === 'committed') return duplicateRequest(now.notificationId);
    if (Date.now() >= waitUntil) break;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  const leftMs = await viaRedis(() => idempotencyKeyTtlMs(deps.redis, idempotencyKey));
  const retryAfter = Math.max(1, Math.min(Math.ceil(leftMs / 1_000), Math.ceil(deps.config.IDEMPOTENCY_CLAIM_TTL_MS / 1_000)));
  return new AppError({
    code: 'REQUEST_IN_PROGRESS',
    status: 409,
    message: 'a request with this Idempotency-Key is still in progress; retry later',
    headers: { 'Retry-After': String(retryAfter) },
    details: { retryAfterMillis: retryAfter * 1_000 },
  });
}

/** Redis down (restarting, unreachable) is the dependency's fault, not the caller's: 503 with Retry-After (SPEC §3). */
async function viaRedis<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw unavailable('redis is unavailable', err);
  }
}

type Snapshot = Awaited<ReturnType<typeof loadRecipient>>;

/**
 * The recipient, its preference row, its active devices and its suppressed addresses, in one
 * round trip, shared with the concurrent requests (createRecipientReader).
 */
async function loadRecipient(deps: Pick_, recipientId: string): Promise<RecipientRow | undefined> {
  return deps.recipients.submit(recipientId);
}

type RecipientRow = Awaited<ReturnType<ReturnType<typeof recipientQuery>['executeTakeFirstOrThrow']>>;

export type RecipientReader = MicroBatcher<string, RecipientRow | undefined>;

/**
 * One per app, beside the writer (createApp): the reads it batches go to that app's pool.
 * Reads recipients for concurrent requests together (MicroBatcher): the ids asked for while
 * the event loop handles one round of I/O go to Postgres as one statement (`r.id = any($1)`),
 * one message and one execution instead of one per request. The statement is built once and
 * run on the pool, not through kysely: building it per request cost a tenth of ingest's CPU,
 * and kysely reserves a connection per query.
 */
export function createRecipientReader(deps: Pick<Deps, 'db' | 'sql'>): RecipientReader {
  const statement = compileRecipientQuery(deps.db);
  return new MicroBatcher({
    maxSize: 256,
    maxConcurrent: 4,
    run: async (ids) => {
      const rows = await deps.sql.unsafe<RecipientRow[]>(statement, [[...new Set(ids)]], { prepare: true });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id));
    },
  });
}

/** Stands in for the ids while the statement is built, to check they are its only parameter. */
const RECIPIENT_IDS = ['recipient ids'];

function compileRecipientQuery(db: Pick_['db']): string {
  const compiled = recipientQuery(db).compile();
  if (compiled.parameters.length !== 1 || compiled.parameters[0] !== RECIPIENT_IDS) throw new Error('the recipient query must take the recipient ids as its only parameter');
  return compiled.sql;
}

function recipientQuery(db: Pick_['db']) {
  return db
    .selectFrom('recipients as r')
    .leftJoin('recipient_preferences as p', 'p.recipient_id', 'r.id')
    .select(['r.id', 'r.channels', 'r.locale', 'r.timezone', 'p.recipient_id as preferences_of', 'p.quiet_hours_enabled', 'p.quiet_start', 'p.quiet_end', 'p.timezone as preferred_timezone', 'p.kinds'])
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('device_tokens as d')
          .select(['d.id', 'd.token', 'd.active'])
          .whereRef('d.recipient_id', '=', 'r.id')
          // A literal (`is true`), not a parameter: the recipient id stays the only one.
          .where('d.active', 'is', true)
          .orderBy('d.id'),
      ).as('devices'),
    )
    // The recipient's directory addresses on the suppression list (issue 15): the same round
    // trip, one probe of the unique (channel, address) index per stored address. Normalised as
    // the domain's normaliseAddress does (EMAIL lowercased).
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('suppressed_addresses as s')
          .select(['s.channel', 's.address'])
          .where(
            sql<boolean>`(s.channel, s.address) in (
              select c->>'type', case when c->>'type' = 'EMAIL' then lower(btrim(c->>'address')) else btrim(c->>'address') end
              from jsonb_array_elements(r.channels) as c)`,
          ),
      ).as('suppressed'),
    )
    .where(sql<boolean>`r.id = any(${RECIPIENT_IDS}::text[])`);
}

interface Rendered {
  delivery: ResolvedDelivery;
  title: string;
  body: string;
  /** EMAIL from a template with an HTML body: that body, values HTML-escaped. */
  htmlBody?: string | null;
  /** KAKAO_ALIMTALK from a template: the provider's template code and the buttons, rendered. */
  providerTemplateCode?: string | null;
  buttons?: AlimtalkButton[] | null;
}

async function accept(
  deps: Pick_,
  input: { idempotencyKey: string; body: SendNotificationBody; createdBy?: string | undefined; notificationId: string; snapshot: Snapshot },
): Promise<SendNotificationResult> {
  const { db, config } = deps;
  const { body, notificationId, snapshot: recipient } = input;
  const now = deps.clock();
  if (!recipient) throw notFound('RECIPIENT_NOT_FOUND', `recipient ${body.recipientId} does not exist`);
  const stored = recipient.preferences_of === null ? undefined : recipient;
  const devices = recipient.devices;

  const preferences = effectivePreferences(
    stored
      ? { quietHoursEnabled: stored.quiet_hours_enabled!, quietStart: stored.quiet_start!, quietEnd: stored.quiet_end!, timezone: stored.preferred_timezone, kinds: stored.kinds! }
      : null,
    recipient.timezone,
  );
  const resolution = resolveChannels({
    kind: body.kind,
    now,
    channels: recipient.channels,
    devices,
    preferences,
    onQuietHours: body.onQuietHours,
    suppressed: new Set(recipient.suppressed.map((s) => suppressionKey(s.channel, s.address))),
  });

  let rendered: Rendered[] = [];
  if (body.templateKey !== undefined) {
    const templates = await db
      .selectFrom('templates')
      .selectAll()
      .where('key', '=', body.templateKey)
      .where('locale', 'in', [recipient.locale, config.DEFAULT_LOCALE])
      .execute();
    if (templates.length === 0 && !(await templateKeyExists(deps, body.templateKey))) {
      throw notFound('TEMPLATE_NOT_FOUND', `no template ${body.templateKey}`);
    }
    rendered = renderFromTemplates(resolution.deliveries, templates, recipient.locale, body);
    if (resolution.deliveries.length > 0 && rendered.length === 0) {
      throw notFound(
        'TEMPLATE_NOT_FOUND',
        `no template ${body.templateKey} in ${recipient.locale} or ${config.DEFAULT_LOCALE} for ${[...new Set(resolution.deliveries.map((d) => d.channel))].join(', ')}`,
      );
    }
  } else {
    rendered = resolution.deliveries.map((delivery) => ({ delivery, title: body.title!, body: body.body! }));
  }
  refuseLongSms(rendered, body.templateKey !== undefined);

  // The resolver may have found channels, but templates may exist for none of them (handled
  // above); otherwise an empty list here means the notification is suppressed.
  const status = rendered.length === 0 ? 'SUPPRESSED' : resolution.outcome;
  const suppressionReason = status === 'SUPPRESSED' ? (resolution.suppressionReason ?? 'NO_ELIGIBLE_CHANNEL') : null;
  const scheduledFor = status === 'SCHEDULED' ? resolution.scheduledFor : null;
  const channels = [...new Set(rendered.map((r) => r.delivery.channel))];

  const limited = await viaRedis(() => consumeRateLimit(deps.redis, {
    recipientId: body.recipientId,
    channels,
    limits: {
      PUSH: config.RATE_LIMIT_PUSH,
      EMAIL: config.RATE_LIMIT_EMAIL,
      SMS: config.RATE_LIMIT_SMS,
      KAKAO_ALIMTALK: config.RATE_LIMIT_KAKAO_ALIMTALK,
    },
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    now,
    member: notificationId,
  }));
  if (!limited.allowed) {
    deps.metrics.rateLimitDenials.inc({ channel: limited.channel });
    throw new AppError({
      code: 'RATE_LIMIT_EXCEEDED',
      status: 429,
      message: `rate limit for ${limited.channel} exceeded`,
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(limited.retryAfterMs / 1000))) },
      details: { channel: limited.channel, retryAfterMillis: limited.retryAfterMs },
    });
  }

  try {
    // One transaction (shared with concurrent requests by group commit, see NotificationWriter)
    // writes the key, the notification, its attempts, their outbox rows and the audit row.
    await deps.writer.write(
      withTraceContext(notificationWrite(deps.topics, {
        id: notificationId,
        idempotencyKey: input.idempotencyKey,
        createdBy: input.createdBy,
        request: body,
        status,
        suppressionReason,
        scheduledFor,
        now,
        deliveries: rendered.map((r) => ({ ...r.delivery, title: r.title, body: r.body, htmlBody: r.htmlBody ?? null, providerTemplateCode: r.providerTemplateCode ?? null, buttons: r.buttons ?? null })),
      })),
    );
  } catch (err) {
    await refundRateLimit(deps.redis, { recipientId: body.recipientId, channels, member: notificationId }).catch(() => {});
    throw err;
  }

  deps.metrics.notifications.inc({ kind: body.kind, outcome: status.toLowerCase() });
  return {
    notificationId,
    status,
    dispatchedChannels: rendered.map((r) => r.delivery.channel),
    suppressionReason,
    scheduledFor,
  };
}

/**
 * The request's trace context (none while tracing is off) rides on the outbox rows to the relay,
 * which puts it on the Kafka records (ADR 0024).
 */
function withTraceContext(write: NotificationWrite): NotificationWrite {
  const trace = traceHeaders();
  if (Object.keys(trace).length === 0) return write;
  return { ...write, outbox: write.outbox.map((message) => ({ ...message, headers: { ...message.headers, ...trace } })) };
}

async function templateKeyExists(deps: Pick_, key: string): Promise<boolean> {
  const row = await deps.db.selectFrom('templates').select('id').where('key', '=', key).limit(1).executeTakeFirst();
  return row !== undefined;
}

/**
 * Per delivery, the template for (key, recipient locale, channel), else the default locale.
 * A channel with no template in either locale is skipped (the sender decides which channels a
 * template covers); every placeholder of the templates used must be in the payload.
 */
function renderFromTemplates(deliveries: ResolvedDelivery[], templates: Template[], recipientLocale: string, body: SendNotificationBody): Rendered[] {
  const pick = (channel: Channel) =>
    templates.find((t) => t.channel_type === channel && t.locale === recipientLocale) ?? templates.find((t) => t.channel_type === channel);
  const chosen = deliveries.map((delivery) => ({ delivery, template: pick(delivery.channel) })).filter((c) => c.template !== undefined);
  const missing = missingVariables(
    chosen.flatMap((c) => [c.template!.title_template, c.template!.body_template, c.template!.html_body ?? '', ...buttonTexts(c.template!.buttons)]),
    body.payload,
  );
  if (missing.length > 0) {
    throw badRequest(`missing template variable: ${missing.join(', ')}`, {
      errors: missing.map((name) => ({ field: `payload.${name}`, message: 'required by the template' })),
    });
  }
  // Values are HTML-escaped in the HTML body only: the subject and the text part show them as
  // given ("Kim & Lee", not "Kim &amp; Lee"), SPEC §2.
  return chosen.map(({ delivery, template }) => ({
    delivery,
    title: renderTemplate(template!.title_template, body.payload),
    body: renderTemplate(template!.body_template, body.payload),
    htmlBody: delivery.channel === 'EMAIL' && template!.html_body !== null ? renderTemplate(template!.html_body, body.payload, { html: true }) : null,
    providerTemplateCode: template!.provider_template_code,
    buttons: template!.buttons?.map((button) => renderButton(button, body.payload)) ?? null,
  }));
}

const BUTTON_TEXT_FIELDS = ['name', 'linkMobile', 'linkPc', 'schemeIos', 'schemeAndroid'] as const;

/** The texts of AlimTalk buttons that may hold placeholders (a link to the order, say). */
function buttonTexts(buttons: AlimtalkButton[] | null): string[] {
  return (buttons ?? []).flatMap((button) => BUTTON_TEXT_FIELDS.flatMap((field) => (button[field] === undefined ? [] : [button[field]])));
}

/** An AlimTalk button with its placeholders filled in, as the other template texts are. */
function renderButton(button: AlimtalkButton, payload: Record<string, string>): AlimtalkButton {
  const out: AlimtalkButton = { ...button };
  for (const field of BUTTON_TEXT_FIELDS) {
    const text = button[field];
    if (text !== undefined) out[field] = renderTemplate(text, payload);
  }
  return out;
}

/**
 * SPEC §2: an SMS body over 1,600 characters is a 400 (Twilio refuses it with 21617), whether the
 * caller wrote it (`body`) or a template's placeholders grew it (`payload`).
 */
function refuseLongSms(rendered: Rendered[], fromTemplate: boolean): void {
  const sms = rendered.find((r) => r.delivery.channel === 'SMS' && r.body.length > SMS_BODY_MAX);
  if (!sms) return;
  const field = fromTemplate ? 'body.payload' : 'body.body';
  throw badRequest(`the SMS body is ${sms.body.length} characters, over the ${SMS_BODY_MAX} an SMS may have`, {
    errors: [{ field, message: `renders an SMS body of ${sms.body.length} characters (at most ${SMS_BODY_MAX})` }],
  });
}
