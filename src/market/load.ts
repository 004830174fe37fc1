// Thin file wrappers around the pure parsers: the only I/O in src/market.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAwsSpotPriceHistoryJson } from './aws-json';
import { parseAwsHistoryTsv } from './aws-tsv';
import { MarketDataError } from './errors';
import type { PriceObservation } from './observations';
import { parseSkyPilotTrace, type AvailabilityTrace } from './skypilot';
import { parseSpotAdvisor, type SpotAdvisorData } from './spot-advisor';
import { parseSpotLakeCsv, spotLakeIfBands, spotLakeObservations, type SpotLakeRecord } from './spotlake';

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new MarketDataError(file, 'file', (err as Error).message);
  }
}

function readJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MarketDataError(file, '$', `invalid JSON: ${(err as Error).message}`);
  }
}

export const loadSpotLakeCsv = (file: string): SpotLakeRecord[] => parseSpotLakeCsv(readText(file), file);
export const loadAwsHistoryTsv = (file: string): PriceObservation[] =>
  parseAwsHistoryTsv(readText(file), file);
export const loadAwsSpotPriceHistoryJson = (file: string): PriceObservation[] =>
  parseAwsSpotPriceHistoryJson(readJson(file), file);
export const loadSpotAdvisor = (file: string): SpotAdvisorData => {
  try {
    return parseSpotAdvisor(readJson(file));
  } catch (err) {
    if (err instanceof MarketDataError && err.source !== file)
      throw new MarketDataError(file, err.location, err.message);
    throw err;
  }
};
export const loadSkyPilotTrace = (file: string, name = file): AvailabilityTrace =>
  parseSkyPilotTrace(readJson(file), name);

/** Every `*.json` trace under `dir`, recursively, in path order; names are paths relative to `dir`. */
export function loadSkyPilotTraces(dir: string): AvailabilityTrace[] {
  let files: string[];
  try {
    files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    throw new MarketDataError(dir, 'directory', (err as Error).message);
  }
  return files.map((f) => {
    try {
      return loadSkyPilotTrace(path.join(dir, f), f);
    } catch (err) {
      if (err instanceof MarketDataError)
        throw new MarketDataError(path.join(dir, f), err.location, err.message);
      throw err;
    }
  });
}

/** A price file of any supported format, chosen by extension (.csv SpotLake, .tsv history, .json AWS). */
export type PriceFile = {
  format: 'spotlake-csv' | 'aws-history-tsv' | 'aws-json';
  observations: PriceObservation[];
  /** SpotLake only: the rows (on-demand prices, if_band). */
  spotLake?: SpotLakeRecord[];
  /** SpotLake only: latest if_band per pool key. */
  ifBands?: Map<string, number>;
};

export function loadPriceFile(file: string): PriceFile {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') {
    const rows = loadSpotLakeCsv(file);
    return {
      format: 'spotlake-csv',
      observations: spotLakeObservations(rows),
      spotLake: rows,
      ifBands: spotLakeIfBands(rows),
    };
  }
  if (ext === '.tsv') return { format: 'aws-history-tsv', observations: loadAwsHistoryTsv(file) };
  if (ext === '.json') return { format: 'aws-json', observations: loadAwsSpotPriceHistoryJson(file) };
  throw new MarketDataError(
    file,
    'file',
    'unknown price file format: expected .csv (SpotLake), .tsv or .json (AWS)',
  );
}
