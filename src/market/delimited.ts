import { parse } from 'csv-parse/sync';
import { MarketDataError } from './errors';

/** A parsed data row with the 1-based line it came from, fields looked up by header name. */
export type Row = { line: number; get(column: string): string };

/**
 * Parses CSV/TSV text with a header line; checks the header has `required` columns and each row has as
 * many fields as the header. Errors name `source` and the line.
 */
export function parseDelimited(text: string, delimiter: string, required: string[], source: string): Row[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { delimiter, info: true, skip_empty_lines: true, trim: true }) as never;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new MarketDataError(source, `line ${e.lines ?? '?'}`, e.message);
  }
  const header = records[0]?.record;
  if (!header) throw new MarketDataError(source, 'line 1', 'empty file: expected a header line');
  const index = new Map(header.map((name, i) => [name, i]));
  const missing = required.filter((c) => !index.has(c));
  if (missing.length > 0) {
    throw new MarketDataError(
      source,
      'line 1',
      `missing column(s) ${missing.join(', ')}; header is "${header.join(delimiter)}"`,
    );
  }
  return records.slice(1).map(({ record, info }) => {
    if (record.length !== header.length) {
      throw new MarketDataError(
        source,
        `line ${info.lines}`,
        `expected ${header.length} fields, found ${record.length}`,
      );
    }
    return { line: info.lines, get: (column: string) => record[index.get(column)!]! };
  });
}

/** A finite number from a field, or a MarketDataError naming the line and column. */
export function numberField(row: Row, column: string, source: string): number {
  const text = row.get(column);
  const value = text === '' ? NaN : Number(text);
  if (!Number.isFinite(value))
    throw new MarketDataError(source, `line ${row.line}`, `${column} "${text}" is not a number`);
  return value;
}

/** Milliseconds since the epoch; a timestamp without a zone ("2024-01-01 00:00:00") is read as UTC. */
export function timeField(row: Row, column: string, source: string): number {
  const text = row.get(column);
  const ms = parseTimestamp(text);
  if (ms === undefined)
    throw new MarketDataError(source, `line ${row.line}`, `${column} "${text}" is not a timestamp`);
  return ms;
}

const HAS_ZONE_RE = /(Z|[+-]\d\d:?\d\d)$/i;

export function parseTimestamp(text: string): number | undefined {
  if (!/^\d{4}-\d\d-\d\d/.test(text)) return undefined;
  const iso = text.replace(' ', 'T');
  const ms = Date.parse(HAS_ZONE_RE.test(iso) || iso.length <= 10 ? iso : `${iso}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}
