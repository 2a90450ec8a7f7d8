import { notificationWrite } from '@hub/attempts';
import {
  effectivePreferences,
  missingVariables,
  renderTemplate,
  resolveChannels,
  type Channel,
  type ResolvedDelivery,
  type SuppressionReason,
} from '@hub/domain';
import { newId, type Template } from '@hub/db';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { AppError, badRequest, notFound } from '@hub/http';
import type { Deps } from '../deps.ts';
import { claimIdempotencyKey, releaseIdempotencyKey, rememberIdempotencyKey, takeOverIdempotencyKey, uuidV7Time } from '../idempotency.ts';
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

type Pick_ = Pick<Deps, 'db' | 'redis' | 'clock' | 'config' | 'topics' | 'metrics' | 'logger' | 'writer'>;

/**
 * POST /notifications. Order matters: claim the key (Redis SET NX), resolve channels and render,
 * take the rate limit for every channel at once, then write notification + attempts + outbox +
 * audit in one transaction whose first insert is the key's Postgres row (the guarantee).
 * Anything failing before commit releases the key and refunds the rate limit.
 */
export async function sendNotification(deps: Pick_, input: { idempotencyKey: string; body: SendNotificationBody }): Promise<SendNotificationResult> {
  const { redis, config } = deps;
  const notificationId = newId();
  // The claim and the (side-effect free) recipient read run concurrently: one round trip of
  // latency instead of two on the hot path.
  const [claim, snapshot] = await Promise.allSettled([
    claimIdempotencyKey(redis, input.idempotencyKey, notificationId, config.IDEMPOTENCY_TTL_SECONDS),
    loadRecipient(deps, input.body.recipientId),
  ]);
  if (claim.status === 'rejected') throw claim.reason;
  if (!claim.value.claimed && !(await tookOverAbandonedClaim(deps, input.idempotencyKey, claim.value.notificationId, notificationId))) {
    deps.metrics.idempotencyConflicts.inc();
    throw duplicateRequest(claim.value.notificationId);
  }
  let committed = false;
  try {
    if (snapshot.status === 'rejected') throw snapshot.reason;
    const result = await accept(deps, { ...input, notificationId, snapshot: snapshot.value });
    committed = true;
    return result;
  } catch (err) {
    if (err instanceof IdempotencyKeyTaken) {
      committed = true; // the key is legitimately taken: keep it, pointing at its owner
      await rememberIdempotencyKey(redis, input.idempotencyKey, err.notificationId, config.IDEMPOTENCY_TTL_SECONDS);
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
 * A claim whose request died before it could commit or release (process killed, Redis
 * unreachable at release time) would block the key for 24 h with an id that never existed.
 * The claim's value is a UUIDv7, so its age is known: a claim older than the longest a request
 * can take, with no Postgres row for the key, is abandoned and this request takes it over.
 * Postgres's primary key still decides if the old request were somehow alive after all.
 */
async function tookOverAbandonedClaim(deps: Pick_, idempotencyKey: string, claimedId: string, notificationId: string): Promise<boolean> {
  const age = deps.clock().getTime() - uuidV7Time(claimedId);
  if (!(age > ABANDONED_CLAIM_MS)) return false;
  const row = await deps.db.selectFrom('idempotency_keys').select('notification_id').where('key', '=', idempotencyKey).executeTakeFirst();
  if (row) return false;
  const taken = await takeOverIdempotencyKey(deps.redis, idempotencyKey, claimedId, notificationId, deps.config.IDEMPOTENCY_TTL_SECONDS);
  if (taken) deps.logger.warn({ notificationId, abandonedNotificationId: claimedId }, 'took over an abandoned idempotency claim');
  return taken;
}

/** Far beyond any request's lifetime (the shutdown deadline is 25 s). */
const ABANDONED_CLAIM_MS = 120_000;

type Snapshot = Awaited<ReturnType<typeof loadRecipient>>;

/** The recipient, its preference row and its active devices, in one round trip. */
async function loadRecipient(deps: Pick_, recipientId: string) {
  return deps.db
    .selectFrom('recipients as r')
    .leftJoin('recipient_preferences as p', 'p.recipient_id', 'r.id')
    .select(['r.id', 'r.channels', 'r.locale', 'r.timezone', 'p.recipient_id as preferences_of', 'p.quiet_hours_enabled', 'p.quiet_start', 'p.quiet_end', 'p.timezone as preferred_timezone', 'p.kinds'])
    .select((eb) =>
      jsonArrayFrom(
        eb
          .selectFrom('device_tokens as d')
          .select(['d.id', 'd.token', 'd.active'])
          .whereRef('d.recipient_id', '=', 'r.id')
          .where('d.active', '=', true)
          .orderBy('d.id'),
      ).as('devices'),
    )
    .where('r.id', '=', recipientId)
    .executeTakeFirst();
}

interface Rendered {
  delivery: ResolvedDelivery;
  title: string;
  body: string;
}

async function accept(
  deps: Pick_,
  input: { idempotencyKey: string; body: SendNotificationBody; notificationId: string; snapshot: Snapshot },
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

  // The resolver may have found channels, but templates may exist for none of them (handled
  // above); otherwise an empty list here means the notification is suppressed.
  const status = rendered.length === 0 ? 'SUPPRESSED' : resolution.outcome;
  const suppressionReason = status === 'SUPPRESSED' ? (resolution.suppressionReason ?? 'NO_ELIGIBLE_CHANNEL') : null;
  const scheduledFor = status === 'SCHEDULED' ? resolution.scheduledFor : null;
  const channels = [...new Set(rendered.map((r) => r.delivery.channel))];

  const limited = await consumeRateLimit(deps.redis, {
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
  });
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
      notificationWrite(deps.topics, {
        id: notificationId,
        idempotencyKey: input.idempotencyKey,
        request: body,
        status,
        suppressionReason,
        scheduledFor,
        now,
        deliveries: rendered.map((r) => ({ ...r.delivery, title: r.title, body: r.body })),
      }),
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
    chosen.flatMap((c) => [c.template!.title_template, c.template!.body_template]),
    body.payload,
  );
  if (missing.length > 0) {
    throw badRequest(`missing template variable: ${missing.join(', ')}`, {
      errors: missing.map((name) => ({ field: `payload.${name}`, message: 'required by the template' })),
    });
  }
  return chosen.map(({ delivery, template }) => ({
    delivery,
    title: renderTemplate(template!.title_template, body.payload),
    body: renderTemplate(template!.body_template, body.payload, { html: delivery.channel === 'EMAIL' }),
  }));
}
