/** Delivery attempt lifecycle (SPEC §2). */
export const ATTEMPT_STATUSES = ['PENDING', 'DISPATCHING', 'SUCCEEDED', 'EXHAUSTED', 'PERMANENTLY_FAILED'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

export const FINAL_ATTEMPT_STATUSES: ReadonlySet<AttemptStatus> = new Set([
  'SUCCEEDED',
  'EXHAUSTED',
  'PERMANENTLY_FAILED',
]);

/** Failed dispatches after which an attempt is EXHAUSTED (lands in the DLQ). */
export const MAX_DISPATCHES = 5;

const TRANSITIONS: Record<AttemptStatus, readonly AttemptStatus[]> = {
  PENDING: ['DISPATCHING'],
  DISPATCHING: ['SUCCEEDED', 'PENDING', 'EXHAUSTED'],
  SUCCEEDED: [],
  EXHAUSTED: ['PENDING', 'PERMANENTLY_FAILED'],
  PERMANENTLY_FAILED: [],
};

export function canTransition(from: AttemptStatus, to: AttemptStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export class IllegalTransitionError extends Error {
  readonly from: AttemptStatus;
  readonly to: AttemptStatus;

  constructor(from: AttemptStatus, to: AttemptStatus) {
    super(`illegal attempt transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
    this.from = from;
    this.to = to;
  }
}

/** Throws IllegalTransitionError unless `from -> to` is an edge of the state machine. */
export function assertTransition(from: AttemptStatus, to: AttemptStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** States an attempt may legally be in just before moving to `to` (for conditional updates). */
export function sourcesOf(to: AttemptStatus): AttemptStatus[] {
  return ATTEMPT_STATUSES.filter((from) => TRANSITIONS[from].includes(to));
}
