import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * JSON-lines logger for one process. Components take `logger.child({ component })`.
 * Never log bodies, addresses or secrets: the redaction list is a safety net, not the policy.
 */
export function createLogger(options: { service: string; level: LevelWithSilent; format?: 'json' | 'pretty' }): Logger {
  return pino({
    // `pretty` is for a developer's terminal (npm start); production reads JSON lines.
    ...(options.format === 'pretty'
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true } } }
      : {}),
    level: options.level,
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['address', '*.address', 'token', '*.token', 'secret', '*.secret', 'headers.authorization'],
      censor: '[redacted]',
    },
  });
}
