export {
  backtestInterruptions,
  defaultOptionsModel,
  replayTrace,
  type InterruptionBacktest,
  type InterruptionBacktestOptions,
  type ReferenceScores,
} from './backtest-interruptions';
export {
  backtestLeaveOneGroupOut,
  traceFolder,
  type GroupScores,
  type HeldOutGroup,
  type LeaveOneGroupOutBacktest,
  type LeaveOneGroupOutOptions,
} from './backtest-logo';
export { backtestPrices, type PriceBacktest, type PriceBacktestOptions } from './backtest-prices';
export {
  describeFittedOptions,
  formatBacktestReport,
  formatLeaveOneGroupOut,
  runBacktest,
  type BacktestOptions,
  type BacktestReport,
} from './backtest';
export {
  calibrateIntervals,
  ensembleForecast,
  fitEnsemble,
  forecastAll,
  forecastPrices,
  regrid,
  weightedSum,
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
export {
  fitInterruptionModel,
  INTERRUPTION_FIT_GRID,
  type FittedInterruptionOptions,
  type InterruptionFit,
  type InterruptionFitGrid,
} from './interruption-fit';
export {
  evalWindows,
  eventFrequency,
  smoothedFrequency,
  tracePool,
  tracePrefix,
  windowGrid,
  windowSpec,
  windowTicks,
  type EvalWindow,
  type EventFrequency,
  type GridPoint,
  type WindowSpec,
} from './interruption-windows';
export {
  brierTerm,
  Calibration,
  logLossTerm,
  ProbabilityScore,
  smape,
  type CalibrationBin,
  type ProbabilityScores,
} from './metrics';
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
