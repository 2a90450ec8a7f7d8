export * from './channels.ts';
export * from './attempt-state.ts';
export * from './failure.ts';
export * from './backoff.ts';
export * from './masking.ts';
