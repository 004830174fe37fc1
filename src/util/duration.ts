import { z } from 'zod';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/**
 * Parses a human duration ("90s", "15m", "1.5h", "7d") or a number of seconds into seconds.
 * Throws a RangeError naming the bad text; callers add the field path.
 */
export function parseDurationSeconds(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new RangeError(`invalid duration ${value}: expected seconds ≥ 0`);
    return value;
  }
  const match = DURATION_RE.exec(value.trim());
  if (!match) throw new RangeError(`invalid duration "${value}": expected e.g. "90s", "15m", "1.5h", "7d"`);
  return Number(match[1]) * UNIT_SECONDS[match[2]!]!;
}

/** Formats seconds compactly for people: 42s, 3m 20s, 2h 05m, 1d 3h. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const s = Math.round(seconds);
  if (s < 60) return `${Math.max(0, seconds < 10 ? Math.round(seconds * 10) / 10 : s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Zod schema for a duration given as text or seconds; the parsed value is seconds. */
export const durationSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  try {
    return parseDurationSeconds(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
