// The process logger: JSON lines for collectors, or short coloured lines (pino-pretty) on a terminal.
import pino, { type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { Config } from './config.js';
import { traceFields } from './platform/tracing.js';

/** Request routes polled by probes and scrapers: their request lines are logged at debug level. */
export const POLLED_ROUTES: ReadonlySet<string> = new Set(['/health', '/health/ready', '/metrics']);

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.password',
  '*.token',
];

/** Request-line fields folded into the message on a terminal. */
const REQUEST_FIELDS = ['reqId', 'method', 'route', 'url', 'status', 'ms'];

/** One short line per request on a terminal: `GET /api/v1/conversations 200 4.1 ms`. */
function shorten(log: Record<string, unknown>): Record<string, unknown> {
  if (log.msg !== 'request') return log;
  const short: Record<string, unknown> = {
    ...log,
    msg: `${log.method} ${log.url} ${log.status} ${log.ms} ms`,
  };
  for (const key of REQUEST_FIELDS) delete short[key];
  if (short.user_id === null) delete short.user_id;
  return short;
}

/** Pretty output written synchronously, so nothing is lost when the process exits. */
function prettyStdout(): DestinationStream {
  const prettify = prettyFactory({
    colorize: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
  return {
    write(line: string) {
      process.stdout.write(prettify(shorten(JSON.parse(line) as Record<string, unknown>)));
    },
  };
}

/** Pretty when stdout is a terminal (never in tests), JSON otherwise. */
export function createLogger(config: Config, pretty = process.stdout.isTTY === true): Logger {
  const options = {
    level: config.logLevel,
    base: { service: 'tma-server' },
    redact: { paths: REDACT, censor: '[redacted]' },
    // trace_id/span_id of the active span (tracing on: src/tracing.ts); nothing otherwise.
    mixin: traceFields,
  };
  return pretty && config.environment !== 'test' ? pino(options, prettyStdout()) : pino(options);
}
