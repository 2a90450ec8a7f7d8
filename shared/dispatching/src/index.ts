export { DISPATCHER_PORTS, dispatcherConfigSchema, type DispatcherConfig } from './config.ts';
export { runDispatcher } from './service.ts';
