/**
 * The control plane's log: JSON lines (pino) for machines, one readable line per event on a
 * TTY. Every string that reaches the log passes redactSecrets first, so a signed URL's query
 * (SAS `sig=`, presigned credentials) never lands in a log line, whoever logged it.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { redactSecrets } from '../util/redact.ts';

export type { Logger };

export interface LogOptions {
  /** Default 'info'; HULLSCAN_LOG_LEVEL overrides. */
  level?: string;
  /** Human-readable lines instead of JSON (default: when the destination is a TTY). */
  pretty?: boolean;
  /** Default: stderr. */
  write?: (line: string) => void;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const HIDDEN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { type: value.name, message: redactSecrets(value.message) };
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

/** One human line: "14:03:11 INFO  node scan published  node=aks-np1-0 findings=412". */
export function humanLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof o['time'] === 'number' ? new Date(o['time']).toISOString().slice(11, 19) : '';
  const level = (LEVEL_NAMES[o['level'] as number] ?? String(o['level'])).toUpperCase().padEnd(5);
  const fields = Object.entries(o)
    .filter(([k]) => !HIDDEN_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`);
  return `${time} ${level} ${String(o['msg'] ?? '')}${fields.length ? '  ' + fields.join(' ') : ''}\n`;
}

export function createLogger(options: LogOptions = {}): Logger {
  const write = options.write ?? ((s: string) => void process.stderr.write(s));
  const pretty = options.pretty ?? (options.write === undefined && process.stderr.isTTY === true);
  const stream: DestinationStream = { write: (line: string) => write(pretty ? humanLine(line) : line) };
  return pino(
    {
      level: options.level ?? process.env['HULLSCAN_LOG_LEVEL'] ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { log: (o) => scrub(o) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => scrub(a)) as Parameters<typeof method>);
        },
      },
    },
    stream,
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
