import { z } from 'zod';
import { CHANNELS, ERROR_CLASSES } from '@hub/domain';
import { parseDurationSeconds } from '../duration.ts';

// Every admin input is validated here; anything unexpected (a typo in a filter name, a repeated
// parameter, an unknown enum value) is a 400 instead of a silently broader match.

const isoDateTime = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 date-time with offset, e.g. 2026-11-25T03:00:00Z' })
  .transform((v) => new Date(v));

export const attemptIdSchema = z.uuid({ message: 'must be a UUID' });

const filterFields = {
  channel: z.enum(CHANNELS).optional(),
  // A delivery topic (either lane) or a dispatcher consumer group; ignored when channel is given.
  topic: z.string().trim().min(1).max(249).optional(),
  from: isoDateTime.optional(),
  to: isoDateTime.optional(),
  errorType: z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .pipe(z.enum(ERROR_CLASSES))
    .optional(),
};

const fromNotAfterTo = (v: { from?: Date | undefined; to?: Date | undefined }) => !v.from || !v.to || v.from <= v.to;
const fromNotAfterToIssue = { message: 'from must not be after to', path: ['from'] };

export const listQuerySchema = z
  .object({
    cursor: attemptIdSchema.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

export const searchQuerySchema = z
  .object({
    ...filterFields,
    cursor: attemptIdSchema.optional(),
    size: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict()
  .refine(fromNotAfterTo, fromNotAfterToIssue);

export type FilterInput = Pick<z.infer<typeof searchQuerySchema>, 'channel' | 'topic' | 'from' | 'to' | 'errorType'>;

export const statsQuerySchema = z
  .object({
    from: isoDateTime.optional(),
    to: isoDateTime.optional(),
    bucket: z
      .string()
      .default('PT1H')
      .transform((v, ctx) => {
        const seconds = parseDurationSeconds(v);
        if (seconds === undefined) {
          ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 duration such as PT5M, PT1H or P1D' });
          return z.NEVER;
        }
        return { text: v.trim().toUpperCase(), seconds };
      }),
  })
  .strict()
  .refine(fromNotAfterTo, fromNotAfterToIssue);

export const discardBodySchema = z
  .object({ reason: z.string().trim().min(1).max(1000).optional() })
  .strict();

export const replayBodySchema = discardBodySchema;

const bulkFields = {
  ...filterFields,
  // Anything but literally true is a dry run: a forgotten or misspelled flag never executes.
  confirm: z.boolean().optional(),
  reason: z.string().trim().min(1).max(1000).optional(),
};

export const bulkBodySchema = z.object(bulkFields).strict().refine(fromNotAfterTo, fromNotAfterToIssue);

// Discarding cannot be undone: the audit trail must say why, even for a dry run.
export const bulkDiscardBodySchema = z
  .object({
    ...bulkFields,
    reason: z
      .string({ error: (issue) => (issue.input === undefined ? 'required for a bulk discard' : undefined) })
      .trim()
      .min(1)
      .max(1000),
  })
  .strict()
  .refine(fromNotAfterTo, fromNotAfterToIssue);

export type BulkBody = z.infer<typeof bulkBodySchema>;

export const jobIdSchema = z.uuid({ message: 'must be a UUID' });

export const attemptParamsSchema = z.object({ attemptId: attemptIdSchema });

export const jobParamsSchema = z.object({ jobId: jobIdSchema });
