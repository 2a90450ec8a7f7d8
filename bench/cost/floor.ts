// The floor of bench:cost, as a process of its own (forked by bench/cost/run.ts, which reads its
// CPU from /proc): the rows the hub writes for a 4-channel notification and its deliveries, and
// the Kafka records it produces and consumes, done with nothing but postgres.js and kafkajs.
//   accept:   one transaction per notification (idempotency key, notification, 4 attempts,
//             4 delivery + 1 fanned-out outbox rows, audit row), open-loop at the given rate;
//   relay:    every relayLingerMs (the hub's RELAY_LINGER_MS), the outbox rows written since are
//             produced (one idempotent producer, acks=all) and marked published in one UPDATE;
//   dispatch: one consumer (eachBatch) claims the batch's attempts (PENDING → DISPATCHING), records
//             them SUCCEEDED with their vendor-result outbox rows, completes the notifications
//             whose attempts are all final, then produces the vendor results and marks them
//             published; after a batch it waits dispatchLingerMs (the hub's
//             DISPATCH_FETCH_LINGER_MS) before the next fetch, as a dispatcher lane does.
// The floor batches over the same windows as the hub, so the ratio compares the work, not the
// batching.
// Messages: parent → {type:'prepare', …} → child {type:'ready'}; parent → {type:'go', rate, seconds}
// → child {type:'offered', count, seconds} (as often as asked); parent → {type:'exit'}.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { newId, openPostgres } from '@hub/db';

export interface FloorPrepare {
  type: 'prepare';
  dbUrl: string;
  brokers: string[];
  topics: { delivery: string; fannedOut: string; vendorResult: string };
  group: string;
  recipients: { id: string; token: string; email: string; phone: string }[];
  relayLingerMs: number;
  dispatchLingerMs: number;
}
export type FloorMessage = FloorPrepare | { type: 'go'; rate: number; seconds: number } | { type: 'exit' };
export type FloorReply = { type: 'ready' } | { type: 'offered'; count: number; seconds: number } | { type: 'error'; message: string };

const reply = (message: FloorReply) => process.send?.(message);
const CHANNELS = ['PUSH', 'EMAIL', 'SMS', 'KAKAO_ALIMTALK'] as const;
const FINAL = ['SUCCEEDED', 'EXHAUSTED', 'PERMANENTLY_FAILED'];

interface Pending {
  id: string;
  topic: string;
  key: string;
  value: string;
}

async function prepare(p: FloorPrepare): Promise<{ go: (rate: number, seconds: number) => Promise<void>; close: () => Promise<void> }> {
  const sql = openPostgres(p.dbUrl, { max: 4, onnotice: () => {} });
  const kafka = new Kafka({ clientId: 'cost-floor', brokers: p.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: p.group, maxWaitTimeInMs: 100 });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [p.topics.delivery], fromBeginning: true });

  // relay: rows written since the last round, produced and marked published in one go each.
  let outbox: Pending[] = [];
  let relaying = Promise.resolve();
  const relay = () => {
    if (outbox.length === 0) return relaying;
    const rows = outbox;
    outbox = [];
    relaying = relaying.then(async () => {
      const byTopic = new Map<string, { key: string; value: string }[]>();
      for (const r of rows) {
        const list = byTopic.get(r.topic) ?? [];
        list.push({ key: r.key, value: r.value });
        byTopic.set(r.topic, list);
      }
      await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      await sql`update outbox set published_at = now(), publish_attempts = publish_attempts + 1 where id = any(${rows.map((r) => r.id)}::uuid[])`;
    });
    return relaying;
  };
  const relayTimer = setInterval(() => void relay().catch((err: unknown) => reply({ type: 'error', message: String(err) })), Math.max(1, p.relayLingerMs));

  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const items = batch.messages.map((m) => JSON.parse(m.value!.toString()) as { attemptId: string; notificationId: string });
      if (items.length === 0) return;
      const claimed = await sql<{ id: string; notification_id: string }[]>`
        update delivery_attempts set status = 'DISPATCHING', dispatched_at = now(), lease_expires_at = now() + interval '20 seconds', updated_at = now()
        where id = any(${items.map((i) => i.attemptId)}::uuid[]) and status = 'PENDING'
        returning id, notification_id`;
      if (claimed.length === 0) return;
      // The "vendor" succeeds at once; the outcome and its announcement in one statement.
      const results = claimed.map((a) => ({ id: newId(), attemptId: a.id, notificationId: a.notification_id }));
      await sql`
        with done as (
          update delivery_attempts set status = 'SUCCEEDED', vendor_message_id = 'floor-' || id::text, lease_expires_at = null,
                 completed_at = now(), updated_at = now()
          where id = any(${claimed.map((a) => a.id)}::uuid[]) and status = 'DISPATCHING'
          returning id, notification_id)
        insert into outbox (id, topic, message_key, payload, headers, available_at)
        select r.id, ${p.topics.vendorResult}, done.notification_id::text,
               jsonb_build_object('eventId', r.id, 'type', 'notify.vendor.result', 'schemaVersion', 1, 'occurredAt', now(),
                                  'attemptId', done.id, 'notificationId', done.notification_id, 'outcome', 'SUCCEEDED'),
               '{}'::jsonb, now()
        from done join unnest(${results.map((r) => r.id)}::uuid[], ${results.map((r) => r.attemptId)}::uuid[]) as r(id, attempt_id) on r.attempt_id = done.id`;
      await sql`
        update notifications n set status = 'COMPLETED', completed_at = now(), updated_at = now()
        where n.id = any(${[...new Set(claimed.map((a) => a.notification_id))]}::uuid[]) and n.status = 'FANNED_OUT'
          and not exists (select 1 from delivery_attempts a where a.notification_id = n.id and a.status <> all(${FINAL}::text[]))`;
      for (const r of results) {
        outbox.push({
          id: r.id,
          topic: p.topics.vendorResult,
          key: r.notificationId,
          value: JSON.stringify({ eventId: r.id, type: 'notify.vendor.result', schemaVersion: 1, occurredAt: new Date().toISOString(), attemptId: r.attemptId, notificationId: r.notificationId, outcome: 'SUCCEEDED' }),
        });
      }
      if (p.dispatchLingerMs > 0) await new Promise((r) => setTimeout(r, p.dispatchLingerMs));
    },
  });
  await joined;

  let accepted = 0;
  const accept = async (i: number) => {
    const recipient = p.recipients[i % p.recipients.length]!;
    const notificationId = newId();
    const now = new Date();
    const attempts = CHANNELS.map((channel) => ({
      id: newId(),
      channel,
      address: channel === 'PUSH' ? recipient.token : channel === 'EMAIL' ? recipient.email : recipient.phone,
    }));
    const event = (type: string, body: Record<string, unknown>) => ({ eventId: newId(), occurredAt: now.toISOString(), schemaVersion: 1, type, ...body });
    const rows: Pending[] = [
      ...attempts.map((a) => ({
        id: newId(),
        topic: p.topics.delivery,
        key: recipient.id,
        value: JSON.stringify(event('delivery.requested', { attemptId: a.id, notificationId, channel: a.channel, priority: true, retryCount: 0 })),
      })),
      {
        id: newId(),
        topic: p.topics.fannedOut,
        key: recipient.id,
        value: JSON.stringify(event('notification.fanned-out', { notificationId, recipientId: recipient.id, kind: 'SECURITY', status: 'FANNED_OUT', attempts: attempts.map((a) => ({ attemptId: a.id, channel: a.channel })) })),
      },
    ];
    await sql.begin((tx) => [
      tx`insert into idempotency_keys (key, notification_id, created_at) values (${randomUUID()}, ${notificationId}, ${now})`,
      tx`insert into notifications (id, recipient_id, kind, title, body, template_key, payload, status, suppression_reason, scheduled_for, idempotency_key, created_at, updated_at)
         values (${notificationId}, ${recipient.id}, 'SECURITY', 'Sign-in from a new device', ${`Was this you? (${i})`}, null, ${tx.json({})}, 'FANNED_OUT', null, null, ${notificationId}, ${now}, ${now})`,
      tx`insert into delivery_attempts ${tx(
        attempts.map((a) => ({
          id: a.id,
          notification_id: notificationId,
          channel: a.channel,
          address: a.address,
          device_token_id: null,
          status: 'PENDING',
          priority: true,
          rendered_title: 'Sign-in from a new device',
          rendered_body: `Was this you? (${i})`,
          sms_segments: a.channel === 'SMS' ? 1 : null,
          created_at: now,
          updated_at: now,
        })),
      )}`,
      tx`insert into outbox ${tx(rows.map((r) => ({ id: r.id, topic: r.topic, message_key: r.key, payload: tx.json(JSON.parse(r.value) as never), headers: tx.json({}), available_at: now })))}`,
      tx`insert into audit_events (id, actor, action, target_type, target_id, details) values (${newId()}, 'api', 'NOTIFICATION_ACCEPTED', 'notification', ${notificationId}, ${tx.json({ kind: 'SECURITY', recipientId: recipient.id })})`,
    ]);
    outbox.push(...rows);
  };

  return {
    go: async (rate, seconds) => {
      const total = Math.round(rate * seconds);
      const interval = 1_000 / rate;
      const writes: Promise<void>[] = [];
      const began = performance.now();
      for (let i = 0; i < total; i++) {
        const wait = began + i * interval - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        writes.push(accept(accepted++));
      }
      await Promise.all(writes);
      reply({ type: 'offered', count: total, seconds: (performance.now() - began) / 1_000 });
    },
    close: async () => {
      clearInterval(relayTimer);
      await relay().catch(() => {});
      await consumer.disconnect();
      await producer.disconnect();
      await sql.end();
    },
  };
}

let running: Awaited<ReturnType<typeof prepare>> | undefined;
const fail = (err: unknown) => reply({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
process.on('message', (message: FloorMessage) => {
  if (message.type === 'prepare') {
    prepare(message).then((r) => {
      running = r;
      reply({ type: 'ready' });
    }, fail);
  } else if (message.type === 'go') {
    running?.go(message.rate, message.seconds).catch(fail);
  } else {
    void (running?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
