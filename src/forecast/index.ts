export {
  backtestInterruptions,
  type InterruptionBacktest,
  type InterruptionBacktestOptions,
} from './backtest-interruptions';
export { backtestPrices, type PriceBacktest, type PriceBacktestOptions } from './backtest-prices';
export { formatBacktestReport, runBacktest, type BacktestOptions, type BacktestReport } from './backtest';
export {
  fitEnsemble,
  forecastAll,
  forecastPrices,
  regrid,
  type EnsembleFit,
  type ForecastOptions,
  type PriceForecast,
} from './ensemble';
export {
  bandRatePerHour,
  InterruptionModel,
  spotLakeIfBandToAdvisorBand,
  type InterruptionModelJSON,
  type InterruptionModelOptions,
} from './interruption';
export { brierTerm, Calibration, logLossTerm, smape, type CalibrationBin } from './metrics';
export {
  defaultModels,
  drift,
  ewma,
  holt,
  naive,
  seasonalNaiveDaily,
  windowRegression,
  type PriceModel,
} from './models';
export { traceCounts, type TraceCounts } from './trace-counts';
