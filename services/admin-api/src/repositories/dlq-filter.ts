import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { Database } from '@hub/db';
import type { Channel, ErrorClass } from '@hub/domain';

/** Which DLQ entries (attempts in EXHAUSTED) an operator means; resolved from search/bulk input. */
export interface DlqFilter {
  channel?: Channel;
  /** Only with a topic: the priority lane or the bulk lane of the channel. */
  priority?: boolean;
  /** Inclusive lower bound on the time the attempt entered the DLQ (its last update). */
  from?: Date;
  /** Exclusive upper bound on the same time. */
  to?: Date;
  errorClass?: ErrorClass;
  /** An unknown topic or consumer group was asked for: nothing matches. */
  matchesNothing?: boolean;
}

// errorClassOf in SQL: the reason's first word before ':' or whitespace.
const ERROR_CLASS_PATTERN = '^\\s*([^:\\s]+)';

export function errorClassSql(eb: ExpressionBuilder<Database, 'delivery_attempts'>) {
  return sql<string | null>`substring(${eb.ref('delivery_attempts.failure_reason')} from ${ERROR_CLASS_PATTERN})`;
}

/** The WHERE clause of "DLQ entries matching `filter`". */
export function dlqWhere(filter: DlqFilter) {
  return (eb: ExpressionBuilder<Database, 'delivery_attempts'>): Expression<SqlBool> => {
    const conditions: Expression<SqlBool>[] = [eb('delivery_attempts.status', '=', 'EXHAUSTED')];
    if (filter.matchesNothing) conditions.push(sql<SqlBool>`false`);
    if (filter.channel) conditions.push(eb('delivery_attempts.channel', '=', filter.channel));
    if (filter.priority !== undefined) conditions.push(eb('delivery_attempts.priority', '=', filter.priority));
    if (filter.from) conditions.push(eb('delivery_attempts.updated_at', '>=', filter.from));
    if (filter.to) conditions.push(eb('delivery_attempts.updated_at', '<', filter.to));
    if (filter.errorClass) conditions.push(eb(errorClassSql(eb), '=', filter.errorClass));
    return eb.and(conditions);
  };
}
