import { sql, type RawBuilder } from 'kysely';
import { ATTEMPT_STEPS, type AttemptStepName } from '@hub/domain';

/**
 * The SQL guard of a lifecycle step: `<status column> in (<the step's source states>)`, from the
 * domain's one table of steps. The states are written as literals (they are constants, never
 * input), so the planner sees `status = 'DISPATCHING'` as it would by hand and the partial
 * indexes on status (migrations 0001, 0005) keep matching the maintenance queries.
 */
export function startsFrom(step: AttemptStepName, column: string = 'status'): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(column)} in (${sql.join(ATTEMPT_STEPS[step].from.map((state) => sql.lit(state)))})`;
}

/** Where a step ends. */
export const endsIn = <S extends AttemptStepName>(step: S): (typeof ATTEMPT_STEPS)[S]['to'] => ATTEMPT_STEPS[step].to;
