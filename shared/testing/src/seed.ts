import type { Channel, Kind } from '@hub/domain';
import { PRIORITY_KINDS } from '@hub/domain';
import { insertOutboxRows, newId, type Db, type RecipientChannel } from '@hub/db';
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
 * are upserted unless `recipients: 'existing'` says they were written already.
 */
export async function seedNotifications(
  db: Db,
  topics: Topics,
  inputs: SeedNotificationInput[],
  options: { recipients?: 'upsert' | 'existing' } = {},
): Promise<SeededNotification[]> {
  return db.transaction().execute(async (tx) => {
    const seeded: SeededNotification[] = [];
    const recipients = new Map<string, RecipientChannel[]>();
    const notifications = [];
    const attempts = [];
    const outbox = [];
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
      notifications.push({
        id: notificationId,
        recipient_id: recipientId,
        kind,
        title: 'Sign-in from a new device',
        body: 'Was this you?',
        payload: {},
        status: 'FANNED_OUT' as const,
        idempotency_key: `seed-${notificationId}`,
      });
      const attemptIds: string[] = [];
      for (const delivery of input.deliveries) {
        const attemptId = newId();
        attemptIds.push(attemptId);
        attempts.push({
          id: attemptId,
          notification_id: notificationId,
          channel: delivery.channel,
          address: delivery.address,
          device_token_id: delivery.deviceTokenId ?? null,
          status: 'PENDING' as const,
          priority,
          rendered_title: 'Sign-in from a new device',
          rendered_body: 'Was this you?',
        });
        outbox.push(
          deliveryRequestMessage(
            topics,
            { attemptId, notificationId, recipientId, channel: delivery.channel, priority, retryCount: 0 },
            now,
            input.availableAt,
          ),
        );
      }
      seeded.push({ notificationId, recipientId, attemptIds });
    }
    for (const [id, channels] of options.recipients === 'existing' ? [] : recipients) {
      await tx
        .insertInto('recipients')
        .values({ id, channels })
        .onConflict((oc) => oc.column('id').doUpdateSet({ channels }))
        .execute();
    }
    for (let i = 0; i < notifications.length; i += 1_000) {
      await tx.insertInto('notifications').values(notifications.slice(i, i + 1_000)).execute();
    }
    for (let i = 0; i < attempts.length; i += 1_000) {
      await tx.insertInto('delivery_attempts').values(attempts.slice(i, i + 1_000)).execute();
    }
    for (let i = 0; i < outbox.length; i += 1_000) {
      await insertOutboxRows(tx, outbox.slice(i, i + 1_000));
    }
    return seeded;
  });
}

/** Registers an active device token for a recipient (what POST /devices writes). */
export async function seedDevice(db: Db, recipientId: string, token: string): Promise<string> {
  const id = newId();
  await db.insertInto('device_tokens').values({ id, recipient_id: recipientId, platform: 'ANDROID', token }).execute();
  return id;
}
