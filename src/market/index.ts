export { parseAwsSpotPriceHistoryJson } from './aws-json';
export { parseAwsHistoryTsv } from './aws-tsv';
export { InstanceCatalog, type InstanceInfo, type InstanceTypeEntry } from './catalog';
export { parseTimestamp } from './delimited';
export { MarketDataError, UnknownInstanceTypeError } from './errors';
export {
  loadAwsHistoryTsv,
  loadAwsSpotPriceHistoryJson,
  loadPriceFile,
  loadSkyPilotTrace,
  loadSkyPilotTraces,
  loadSpotAdvisor,
  loadSpotLakeCsv,
  type PriceFile,
} from './load';
export { isLinux, type PriceObservation } from './observations';
export { poolKey, regionOfAzId, regionOfZone, type Pool } from './pool';
export { resample, type PriceSeries, type ResampleOptions } from './resample';
export { parseSkyPilotTrace, type AvailabilityTrace } from './skypilot';
export {
  advisorBand,
  parseSpotAdvisor,
  type AdvisorEntry,
  type AdvisorRange,
  type SpotAdvisorData,
} from './spot-advisor';
export { parseSpotLakeCsv, spotLakeIfBands, spotLakeObservations, type SpotLakeRecord } from './spotlake';
