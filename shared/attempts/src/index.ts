// The delivery attempt and its notification's completion (ADR 0018). Every write to
// delivery_attempts and notifications goes through one of these transitions; each takes the
// caller's transaction (or db, for the statements atomic on their own), guards on the domain's
// table of steps, and writes its events through one builder and the outbox writer.
export { CLAIMED_COLUMNS, type ClaimedAttempt, type DispatchOutcome, type OutcomeContext } from './claimed.ts';
export { insertNotifications, newAttemptRow, notificationWrite, type DecidedNotification, type NotificationWrite } from './create.ts';
export { claimAttempts } from './claim.ts';
export { recordSuccesses, type SucceededDispatch } from './record-successes.ts';
export { recordFailure } from './record-failure.ts';
export { recordOutcomes } from './record-outcomes.ts';
export { releaseAttempts } from './release.ts';
export { recoverExpiredLeases } from './leases.ts';
export { redriveDueRetries } from './redrive.ts';
export { maintenanceDue, type MaintenanceDue } from './maintenance-due.ts';
export { sweepLostDeliveries } from './sweep.ts';
export { acknowledgeReceipt, type Receipt, type ReceiptResult } from './acknowledge.ts';
export { applyDeliveryStatus, recordDeliveryReceipt, RECEIPT_COLUMNS, type DeliveryReceipt, type DeliveryReceiptResult, type ReceiptAttempt } from './delivery-receipt.ts';
export { discardExhaustedAttempt, replayExhaustedAttempt, type DlqOperationResult } from './dlq.ts';
export { completeNotifications, reopenNotification } from './complete.ts';
export { exhaustedAlertMessage, fannedOutMessage, vendorResultMessage } from './events.ts';
export { backoffEnv } from './config.ts';
