/** Delivery attempt lifecycle (SPEC §2). */
export const ATTEMPT_STATUSES = ['PENDING', 'DISPATCHING', 'SUCCEEDED', 'EXHAUSTED', 'PERMANENTLY_FAILED'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

export const FINAL_ATTEMPT_STATUSES: ReadonlySet<AttemptStatus> = new Set([
  'SUCCEEDED',
  'EXHAUSTED',
  'PERMANENTLY_FAILED',
]);

/** Every attempt is created in this state. */
export const INITIAL_ATTEMPT_STATUS = 'PENDING' satisfies AttemptStatus;

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

/** A named step of the lifecycle: the states it may start from, the edges it takes, where it ends. */
export interface LifecycleStep {
  readonly from: readonly AttemptStatus[];
  readonly to: AttemptStatus;
  /** States passed through on the way (a receipt for a PENDING attempt proves its dispatch). */
  readonly via?: readonly AttemptStatus[];
}

/**
 * Every transition the hub makes, by name. The SQL of each transition guards on its `from`
 * (`where status in from`), so a row in any other state is left alone; each step is checked
 * against the edge table above when this module loads, so a step that is not a path of the
 * state machine cannot be written.
 */
export const ATTEMPT_STEPS = defineSteps({
  /** A worker takes the attempt to call the vendor. */
  claim: { from: ['PENDING'], to: 'DISPATCHING' },
  /** The vendor accepted it. */
  succeed: { from: ['DISPATCHING'], to: 'SUCCEEDED' },
  /** A failed dispatch with dispatches left (or a lease that expired). */
  retry: { from: ['DISPATCHING'], to: 'PENDING' },
  /** The last failed dispatch, or a permanent error: the DLQ. */
  exhaust: { from: ['DISPATCHING'], to: 'EXHAUSTED' },
  /**
   * A dispatch that never reached the vendor (its breaker open, its send-rate cap not granted,
   * the worker stopping): back to PENDING for later, not counted as a failed dispatch.
   */
  release: { from: ['DISPATCHING'], to: 'PENDING' },
  /** A vendor's success receipt; a PENDING attempt was dispatched by a worker that died after the call. */
  acknowledge: { from: ['PENDING', 'DISPATCHING'], to: 'SUCCEEDED', via: ['DISPATCHING'] },
  /** An operator sends a DLQ entry again. */
  replay: { from: ['EXHAUSTED'], to: 'PENDING' },
  /** An operator gives up on a DLQ entry. */
  discard: { from: ['EXHAUSTED'], to: 'PERMANENTLY_FAILED' },
});

export type AttemptStepName = keyof typeof ATTEMPT_STEPS;

function defineSteps<S extends Record<string, LifecycleStep>>(steps: S): S {
  for (const step of Object.values(steps)) {
    for (const from of step.from) {
      const path = [from, ...(step.via ?? []).filter((state) => state !== from), step.to];
      for (let i = 1; i < path.length; i++) assertTransition(path[i - 1]!, path[i]!);
    }
  }
  return steps;
}
