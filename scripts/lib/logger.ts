// One pino logger for every part; Temporal's Rust core and SDK logs go through it too.
import pino, { type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'password',
  'passwordHash',
  'token',
  'secret',
  'webhookUrl',
  'accessToken',
  'signingSecret',
  'JWT_SECRET',
  'DATABASE_URL',
  '*.password',
  '*.passwordHash',
  '*.token',
  '*.secret',
  '*.webhookUrl',
  '*.accessToken',
  '*.signingSecret',
  '*.JWT_SECRET',
  '*.DATABASE_URL',
];

export function createLogger(opts: { level?: string; format?: 'json' | 'pretty'; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    name: opts.name,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (opts.format === 'pretty') {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } });
  }
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
