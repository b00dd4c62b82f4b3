/**
 * Account settings as people write them: `agentlessScanning=on`, `schedule=daily`,
 * `schedule=12h`, `schedule=cron:0 3 * * *`, `exclusionTags=hullscan-exclude:true,env:test`,
 * `retentionDays=30`; and when a schedule is next due.
 */
import { Cron } from 'croner';
import type { AccountSettings, Schedule } from '../store/index.ts';
import { UsageError } from '../util/errors.ts';

/** Shortest interval a schedule may have (a fleet scan every few minutes is a mistake, not a schedule). */
export const MIN_SCHEDULE_HOURS = 1;

const HOURS_OF: Record<string, number> = { hourly: 1, daily: 24, weekly: 168 };

/** `daily`, `weekly`, `hourly`, `12h`, `2d`, `90m`, `cron:0 3 * * *`. */
export function parseSchedule(s: string, timezone?: string): Schedule {
  const v = s.trim();
  if (v.startsWith('cron:')) {
    const expression = v.slice(5).trim();
    try {
      new Cron(expression, { paused: true, ...(timezone !== undefined && { timezone }) });
    } catch (err) {
      throw new UsageError(`schedule: '${expression}' is not a cron expression (${(err as Error).message})`, { cause: err });
    }
    return timezone === undefined ? { kind: 'cron', expression } : { kind: 'cron', expression, timezone };
  }
  const named = HOURS_OF[v];
  if (named !== undefined) return { kind: 'interval', hours: named };
  const m = /^(\d+(?:\.\d+)?)\s*(m|h|d)$/.exec(v);
  if (!m) throw new UsageError(`schedule: '${s}' is not daily, weekly, hourly, an interval (12h, 2d, 90m) or cron:<expression>`);
  const hours = Number(m[1]) * (m[2] === 'm' ? 1 / 60 : m[2] === 'd' ? 24 : 1);
  if (!(hours >= MIN_SCHEDULE_HOURS)) throw new UsageError(`schedule: at least every ${MIN_SCHEDULE_HOURS} h`);
  return { kind: 'interval', hours };
}

export function describeSchedule(s: Schedule): string {
  if (s.kind === 'cron') return `cron:${s.expression}${s.timezone ? ` (${s.timezone})` : ''}`;
  if (s.hours === 24) return 'daily';
  if (s.hours === 168) return 'weekly';
  return Number.isInteger(s.hours) ? `${s.hours}h` : `${Math.round(s.hours * 60)}m`;
}

/**
 * When the next scheduled run is due, given the last one (undefined: never ran — due now).
 * Interval schedules run `hours` after the last run; cron ones at the next match after it.
 */
export function nextDue(s: Schedule, last: Date | undefined, now: Date): Date {
  if (last === undefined) return now;
  if (s.kind === 'interval') return new Date(last.getTime() + s.hours * 3_600_000);
  const next = new Cron(s.expression, { paused: true, ...(s.timezone !== undefined && { timezone: s.timezone }) }).nextRun(last);
  return next ?? new Date(8.64e15);
}

function onOff(key: string, v: string): boolean {
  if (['on', 'true', 'yes', '1'].includes(v)) return true;
  if (['off', 'false', 'no', '0'].includes(v)) return false;
  throw new UsageError(`${key}: use on or off, not '${v}'`);
}

/** Tags as `key:value` pairs separated by commas; an empty value clears them. */
export function parseTags(v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.search(/[:=]/);
    if (i <= 0) throw new UsageError(`exclusionTags: '${part}' is not key:value`);
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

export const SETTING_KEYS = ['agentlessScanning', 'malware', 'exclusionTags', 'schedule', 'retentionDays'] as const;

/** Parses `key=value` assignments into a settings patch. */
export function parseAssignments(assignments: readonly string[]): Partial<AccountSettings> {
  const patch: Partial<AccountSettings> = {};
  for (const a of assignments) {
    const i = a.indexOf('=');
    if (i <= 0) throw new UsageError(`'${a}' is not key=value (keys: ${SETTING_KEYS.join(', ')})`);
    const key = a.slice(0, i);
    const value = a.slice(i + 1).trim();
    switch (key) {
      case 'agentlessScanning':
        patch.agentlessScanning = onOff(key, value);
        break;
      case 'malware':
        patch.malware = onOff(key, value);
        break;
      case 'exclusionTags':
        patch.exclusionTags = parseTags(value);
        break;
      case 'schedule':
        patch.schedule = parseSchedule(value);
        break;
      case 'retentionDays': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > 3650) throw new UsageError('retentionDays: a whole number of days, 1..3650');
        patch.retentionDays = n;
        break;
      }
      default:
        throw new UsageError(`unknown setting '${key}' (keys: ${SETTING_KEYS.join(', ')})`);
    }
  }
  return patch;
}

/** The tag (key: value) that excludes a resource, if any. */
export function exclusionMatch(resourceTags: Record<string, string>, exclusionTags: Record<string, string>): string | undefined {
  for (const [k, v] of Object.entries(exclusionTags)) {
    if (resourceTags[k] !== undefined && resourceTags[k] === v) return `${k}: ${v}`;
  }
  return undefined;
}
