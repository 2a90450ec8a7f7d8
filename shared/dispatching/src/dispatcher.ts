import type { Logger } from 'pino';
import type { BackoffScale, Channel } from '@hub/domain';
import type { Db } from '@hub/db';
import { ConsumerRunner, deliveryRequestedSchema, type DeliveryRequested, type Kafka, type Producer, type Topics } from '@hub/messaging';
import type { Registry } from '@hub/observability';
import { DeliveryStore } from './delivery-store.ts';
import { createDispatchMetrics, handleDelivery, type DeliveryDeps } from './handle-delivery.ts';
import type { ProtectedVendor } from './vendor-call.ts';

export interface DispatcherOptions {
  channel: Channel;
  db: Db;
  kafka: Kafka;
  /** Connected producer for poison messages. */
  producer: Producer;
  topics: Topics;
  vendor: ProtectedVendor;
  logger: Logger;
  registry: Registry;
  clock?: () => Date;
  /** Messages handled at once from the bulk topic (MARKETING, SERVICE). */
  bulkConcurrency: number;
  /** Messages handled at once from the priority topic (SECURITY, TRANSACTIONAL). */
  priorityConcurrency: number;
  /** Messages handled at once from the priority lane's retry topic. */
  retryConcurrency: number;
  /** After a fetch that brought deliveries, how long a lane waits before fetching again (default 0). */
  fetchLingerMs?: number;
  /** How long an idle lane's long poll waits at the broker (default 3 s). */
  fetchMaxWaitMs?: number;
  leaseMs: number;
  backoff: BackoffScale;
  /** How long stop() lets deliveries at the vendor finish (default 10 s); give it most of SHUTDOWN_TIMEOUT_MS. */
  drainTimeoutMs?: number;
}

/**
 * A channel's dispatcher: three independent consumers, one per lane, each with its own
 * concurrency, so a marketing backlog on the bulk topic never holds a slot an OTP needs, and the
 * retry of an OTP (after a crashed worker's lease ran out, or a failed call) never waits behind
 * the priority lane's own backlog. Each lane has its own consumer group (`<group>.priority`,
 * `<group>.priority.retry`): kafkajs assigns a group's partitions as if every member subscribed
 * to every topic, so lanes cannot share a group.
 */
export class Dispatcher {
  private readonly runners: ConsumerRunner<DeliveryRequested>[];
  private readonly log: Logger;
  private stopping = false;

  constructor(options: DispatcherOptions) {
    this.log = options.logger.child({ component: 'dispatcher', channel: options.channel });
    const deps: DeliveryDeps = {
      store: new DeliveryStore({
        db: options.db,
        topics: options.topics,
        clock: options.clock ?? (() => new Date()),
        logger: this.log,
        leaseMs: options.leaseMs,
        backoff: options.backoff,
      }),
      vendor: options.vendor,
      logger: this.log,
      metrics: createDispatchMetrics(options.registry),
      stopping: () => this.stopping,
    };
    const lanes = options.topics.deliveryLanes(options.channel);
    const group = options.topics.dispatcherGroup(options.channel);
    const runner = (topic: string, groupId: string, concurrency: number) =>
      new ConsumerRunner<DeliveryRequested>({
        kafka: options.kafka,
        groupId,
        topics: [topic],
        schema: deliveryRequestedSchema,
        handler: (message) => handleDelivery(deps, message.value, message.headers),
        dlqProducer: options.producer,
        dlqTopicOf: options.topics.dlqOf,
        concurrency,
        logger: this.log,
        registry: options.registry,
        ...(options.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: options.drainTimeoutMs }),
        ...(options.fetchLingerMs === undefined ? {} : { fetchLingerMs: options.fetchLingerMs }),
        ...(options.fetchMaxWaitMs === undefined ? {} : { fetchMaxWaitMs: options.fetchMaxWaitMs }),
      });
    this.runners = [
      runner(lanes.priorityRetry, `${group}.priority.retry`, options.retryConcurrency),
      runner(lanes.priority, `${group}.priority`, options.priorityConcurrency),
      runner(lanes.bulk, group, options.bulkConcurrency),
    ];
  }

  async start(): Promise<void> {
    this.stopping = false;
    await Promise.all(this.runners.map((r) => r.start()));
  }

  /**
   * Stops every lane: deliveries at the vendor finish and are recorded, claimed ones not yet at
   * the vendor are released (not counted as failed dispatches), and offsets are committed.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.runners.map((r) => r.stop()));
  }

  healthy(): boolean {
    return this.runners.every((r) => r.healthy());
  }
}
