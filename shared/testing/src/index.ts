export { createTestContext, type TestContext } from './context.ts';
export { cloneDatabase, createTemplateDatabase, dropDatabases, withDatabase } from './databases.ts';
export { MISSING_INFRA_MESSAGE, resolveInfrastructure, type Infrastructure } from './infra.ts';
export { pollUntil } from './poll.ts';
export { spawnService, startService, type ServiceProcess, type StartedService } from './process.ts';
export { TcpProxy } from './tcp-proxy.ts';
export { freePort } from './ports.ts';
export { seedDevice, seedNotification, seedNotifications, type SeedDelivery, type SeedNotificationInput, type SeededNotification } from './seed.ts';
export * from './hostile-http.ts';
