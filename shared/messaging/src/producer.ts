import { Partitioners, type Kafka, type Producer as KafkaProducer, type ProducerBatch, type ProducerRecord, type RecordMetadata } from 'kafkajs';

/**
 * The hub's one producer: kafkajs's idempotent producer (acks=all, one request in flight per
 * broker), made safe across failed sends (ADR 0017).
 *
 * kafkajs rewinds a partition's sequence number whenever a produce request fails, including
 * for the partitions the broker did append: one request carries many partitions and one refused
 * partition fails it, and a timed-out request may have been written. The next records sent to
 * such a partition reuse sequence numbers already on the log; when their count matches, the
 * broker answers "duplicate" with the old offsets and writes nothing, which is silent loss
 * (producer.int.test.ts shows it), and otherwise every later send fails with
 * OUT_OF_ORDER_SEQUENCE_NUMBER. So sends run one at a time (another send must not pick up a
 * sequence rewound for a retry in progress), and a send that fails retires its kafkajs producer:
 * the next send gets a new one, whose new producer id starts every sequence at zero. The caller
 * sends the failed records again (at-least-once; consumers are idempotent).
 */
export class Producer {
  private readonly kafka: Kafka;
  private current: KafkaProducer | undefined;
  /** Set by a failed send: the current producer's sequence numbers can no longer be trusted. */
  private retired = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(kafka: Kafka) {
    this.kafka = kafka;
  }

  async connect(): Promise<void> {
    if (this.current) return;
    const producer = this.create();
    await producer.connect();
    this.current = producer;
    this.retired = false;
  }

  /** Disconnects at once; a send in flight fails (its records are the caller's to send again). */
  async disconnect(): Promise<void> {
    const producer = this.current;
    this.current = undefined;
    await producer?.disconnect();
  }

  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.serialized((producer) => producer.send(record));
  }

  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    return this.serialized((producer) => producer.sendBatch(batch));
  }

  private serialized<T>(work: (producer: KafkaProducer) => Promise<T>): Promise<T> {
    const run = this.tail.then(async () => {
      const producer = await this.usable();
      try {
        return await work(producer);
      } catch (err) {
        if (producer === this.current) this.retired = true;
        throw err;
      }
    });
    this.tail = run.catch(() => {});
    return run;
  }

  /** The current producer, replaced first if a send failed on it. */
  private async usable(): Promise<KafkaProducer> {
    const old = this.current;
    if (!old) throw new Error('producer is not connected');
    if (!this.retired) return old;
    const fresh = this.create();
    try {
      await fresh.connect();
    } catch (err) {
      await fresh.disconnect().catch(() => {});
      throw new Error('could not replace the Kafka producer after a failed send', { cause: err });
    }
    if (this.current !== old) {
      // disconnect() ran meanwhile.
      await fresh.disconnect().catch(() => {});
      throw new Error('producer is not connected');
    }
    this.current = fresh;
    this.retired = false;
    await old.disconnect().catch(() => {});
    return fresh;
  }

  private create(): KafkaProducer {
    return this.kafka.producer({
      // Explicit (and the kafkajs 2 default): murmur2 on the key, like the Java client, so a
      // recipient's messages land on the same partition whichever client wrote them.
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }
}

/** The one producer configuration the hub uses (see Producer). */
export function createProducer(kafka: Kafka): Producer {
  return new Producer(kafka);
}
