import type { Channel, Kind } from '@hub/domain';
import { PRIORITY_KINDS } from '@hub/domain';
import { sql } from 'kysely';
import { newId, type Db, type RecipientChannel } from '@hub/db';
import { deliveryRequestMessage, type Topics } from '@hub/messaging';

export interface SeedDelivery {
  channel: Channel;
  address: string;
  /** PUSH only: the device_tokens row the address came from. */
  deviceTokenId?: string;
}

export interface SeedNotificationInput {
  recipientId?: string;
  kind?: Kind;
  /** The recipient's directory entry (EMAIL, SMS, KAKAO_ALIMTALK); default: the non-PUSH deliveries. */
  recipientChannels?: RecipientChannel[];
  deliveries: SeedDelivery[];
  /** When the outbox rows may be published; default now. */
  availableAt?: Date;
}

export interface SeededNotification {
  notificationId: string;
  recipientId: string;
  attemptIds: string[];
}

/**
 * Writes what ingest-api writes for an accepted notification, exactly in the message contract's
 * shape: the recipient, a FANNED_OUT notification, one PENDING attempt per delivery (rendered
 * title/body and address filled) and one `delivery.requested` outbox row per attempt, in one
 * transaction. For tests of the relay and the dispatchers, which must not depend on ingest-api.
 */
export async function seedNotification(
  db: Db,
  topics: Topics,
  input: SeedNotificationInput,
): Promise<SeededNotification> {
  const [seeded] = await seedNotifications(db, topics, [input]);
  return seeded!;
}

/**
 * Many notifications in one transaction (a backlog for lane and benchmark tests). Recipients
 * are upserted unless `recipients: 'existing'` says they were written already; then the whole
 * write is one statement (notifications, attempts and outbox rows in one CTE, atomic on its
 * own), so bench:delivery's load costs the system it measures one round trip per batch.
 */
export async function seedNotifications(
  db: Db,
  topics: Topics,
  inputs: SeedNotificationInput[],
  options: { recipients?: 'upsert' | 'existing' } = {},
): Promise<SeededNotification[]> {
  const seeded: SeededNotification[] = [];
  const recipients = new Map<string, RecipientChannel[]>();
  const notifications = { id: [] as string[], recipientId: [] as string[], kind: [] as string[] };
  const attempts = { id: [] as string[], notificationId: [] as string[], channel: [] as string[], address: [] as string[], deviceTokenId: [] as (string | null)[], priority: [] as boolean[] };
  const outbox = { id: [] as string[], topic: [] as string[], key: [] as (string | null)[], payload: [] as string[], availableAt: [] as (string | null)[] };
  const now = new Date();
  for (const input of inputs) {
    const recipientId = input.recipientId ?? `user-${newId()}`;
    const kind = input.kind ?? 'SECURITY';
    const priority = PRIORITY_KINDS.has(kind);
    recipients.set(
      recipientId,
      input.recipientChannels ??
        input.deliveries
          .filter((d): d is SeedDelivery & { channel: RecipientChannel['type'] } => d.channel !== 'PUSH')
          .map((d) => ({ type: d.channel, address: d.address })),
    );
    const notificationId = newId();
    notifications.id.push(notificationId);
    notifications.recipientId.push(recipientId);
    notifications.kind.push(kind);
    const attemptIds: string[] = [];
    for (const delivery of input.deliveries) {
      const attemptId = newId();
      attemptIds.push(attemptId);
      attempts.id.push(attemptId);
      attempts.notificationId.push(notificationId);
      attempts.channel.push(delivery.channel);
      attempts.address.push(delivery.address);
      attempts.deviceTokenId.push(delivery.deviceTokenId ?? null);
      attempts.priority.push(priority);
      const message = deliveryRequestMessage(
        topics,
        { attemptId, notificationId, recipientId, channel: delivery.channel, priority, retryCount: 0 },
        now,
        input.availableAt,
      );
      outbox.id.push(newId());
      outbox.topic.push(message.topic);
      outbox.key.push(message.key);
      outbox.payload.push(JSON.stringify(message.payload));
      outbox.availableAt.push(message.availableAt?.toISOString() ?? null);
    }
    seeded.push({ notificationId, recipientId, attemptIds });
  }
  const write = (executor: Db) => sql`
    with n as (
      insert into notifications (id, recipient_id, kind, title, body, payload, status, idempotency_key)
      select id, recipient_id, kind, ${TITLE}, ${BODY}, '{}'::jsonb, 'FANNED_OUT', 'seed-' || id
      from unnest(${notifications.id}::uuid[], ${notifications.recipientId}::text[], ${notifications.kind}::text[]) as t(id, recipient_id, kind)),
    a as (
      insert into delivery_attempts (id, notification_id, channel, address, device_token_id, status, priority, rendered_title, rendered_body)
      select id, notification_id, channel, address, device_token_id, 'PENDING', priority, ${TITLE}, ${BODY}
      from unnest(${attempts.id}::uuid[], ${attempts.notificationId}::uuid[], ${attempts.channel}::text[], ${attempts.address}::text[],
                  ${attempts.deviceTokenId}::uuid[], ${attempts.priority.map(String)}::text[]::boolean[])
           as t(id, notification_id, channel, address, device_token_id, priority))
    insert into outbox (id, topic, message_key, payload, headers, available_at)
    select id, topic, message_key, payload::jsonb, '{}'::jsonb, coalesce(available_at, now())
    from unnest(${outbox.id}::uuid[], ${outbox.topic}::text[], ${outbox.key}::text[], ${outbox.payload}::text[], ${outbox.availableAt}::timestamptz[])
         as t(id, topic, message_key, payload, available_at)`.execute(executor);
  if (options.recipients === 'existing') {
    await write(db);
    return seeded;
  }
  await db.transaction().execute(async (tx) => {
    for (const [id, channels] of recipients) {
      await tx
        .insertInto('recipients')
        .values({ id, channels })
        .onConflict((oc) => oc.column('id').doUpdateSet({ channels }))
        .execute();
    }
    await write(tx);
  });
  return seeded;
}

const TITLE = 'Sign-in from a new device';
const BODY = 'Was this you?';

/** Registers an active device token for a recipient (what POST /devices writes). */
export async function seedDevice(db: Db, recipientId: string, token: string): Promise<string> {
  const id = newId();
  await db.insertInto('device_tokens').values({ id, recipient_id: recipientId, platform: 'ANDROID', token }).execute();
  return id;
}
