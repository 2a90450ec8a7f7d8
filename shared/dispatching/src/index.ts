export { DISPATCHER_PORTS, dispatcherConfigSchema, type DispatcherConfig } from './config.ts';
export { runDispatcher } from './service.ts';
export { Dispatcher, type DispatcherOptions } from './dispatcher.ts';
export { NotSentError, ProtectedVendor, type SendOptions, type VendorPolicy } from './vendor-call.ts';
export { redisSendRateCap, type SendRateCap } from './send-rate-cap.ts';
export { handleDelivery, createDispatchMetrics, type DeliveryDeps, type DispatchMetrics } from './handle-delivery.ts';
export { DeliveryStore, type DeliveryStoreOptions } from './delivery-store.ts';
