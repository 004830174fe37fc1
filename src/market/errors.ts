/** A market-data file the user gave us is malformed; the message names the file and line or JSON path. */
export class MarketDataError extends Error {
  readonly exitCode = 2;
  constructor(
    readonly source: string,
    /** "line 12", "SpotPriceHistory[3].SpotPrice", … */
    readonly location: string,
    detail: string,
  ) {
    super(`${source}: ${location}: ${detail}`);
    this.name = 'MarketDataError';
  }
}

/** The instance catalog has no entry for a type a job or a price file refers to. */
export class UnknownInstanceTypeError extends Error {
  readonly exitCode = 2;
  constructor(readonly instanceType: string) {
    super(`unknown instance type "${instanceType}": not in the instance catalog`);
    this.name = 'UnknownInstanceTypeError';
  }
}
