export { brokerCount, createKafka, deleteTopicsWithPrefix, ensureTopics, growPartitions, pingKafka, type Admin, type Kafka } from './kafka.ts';
export { createProducer, Producer } from './producer.ts';
export { createTopics, type Topics } from './topics.ts';
export {
  alertFiredSchema,
  deliveryRequestedSchema,
  deliveryRequestMessage,
  makeEvent,
  notificationFannedOutSchema,
  vendorResultSchema,
  type AlertFired,
  type DeliveryRequested,
  type OutboxMessageShape,
  type NotificationFannedOut,
  type VendorResult,
} from './events.ts';
export { ConsumerRunner, type ConsumedMessage, type ConsumerRunnerOptions } from './consumer-runner.ts';
