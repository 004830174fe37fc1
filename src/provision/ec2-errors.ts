/**
 * Errors of EC2 provisioning that users can act on. Each has a stable `name` (the Temporal
 * failure type when an activity throws it) and says whether retrying the same call can help.
 */
export abstract class Ec2ProvisionError extends Error {
  /** Retrying the same request cannot succeed (activities should fail non-retryably). */
  abstract readonly nonRetryable: boolean;
}

/** The EC2 settings (file or options) are invalid; the message names the offending field. */
export class Ec2SettingsError extends Ec2ProvisionError {
  override readonly name = 'Ec2SettingsError';
  readonly nonRetryable = true;
  readonly exitCode = 2;
}

/** A launch would run more instances of the job at once than `limits.maxInstances`. */
export class InstanceCapExceededError extends Ec2ProvisionError {
  override readonly name = 'InstanceCapExceeded';
  readonly nonRetryable = true;
  constructor(
    readonly jobId: string,
    readonly maxInstances: number,
    readonly live: number,
    readonly requested: number,
  ) {
    super(
      `job ${jobId}: launching ${requested} instance(s) with ${live} running would exceed ` +
        `limits.maxInstances = ${maxInstances}`,
    );
  }
}

/** A launch could make the job's worst-case spend exceed `limits.maxSpendUsd`. */
export class SpendCapExceededError extends Ec2ProvisionError {
  override readonly name = 'SpendCapExceeded';
  readonly nonRetryable = true;
  constructor(
    readonly jobId: string,
    readonly maxSpendUsd: number,
    readonly committedUsd: number,
    readonly requestedUsd: number,
  ) {
    super(
      `job ${jobId}: worst-case spend $${(committedUsd + requestedUsd).toFixed(4)} ` +
        `($${committedUsd.toFixed(4)} committed + $${requestedUsd.toFixed(4)} for this launch) ` +
        `would exceed limits.maxSpendUsd = $${maxSpendUsd}`,
    );
  }
}

/** No bound on an instance's hourly price is known, so its spend cannot be capped: it is not launched. */
export class PriceUnknownError extends Ec2ProvisionError {
  override readonly name = 'PriceUnknown';
  readonly nonRetryable = true;
  constructor(
    readonly planId: string,
    readonly instanceType: string,
    readonly market: 'spot' | 'on-demand',
  ) {
    super(
      `plan ${planId}: no price bound for ${market} ${instanceType}; set the plan's maxPricePerHour, ` +
        `maxSpotPricePerHour or onDemandPricesPerHour["${instanceType}"] in the EC2 settings`,
    );
  }
}

/** EC2 refused the capacity (spot, and on-demand when the fallback is allowed). */
export class NoCapacityError extends Ec2ProvisionError {
  override readonly name = 'NoCapacity';
  /** Capacity comes and goes: a later attempt may get it. */
  readonly nonRetryable = false;
  constructor(
    readonly planId: string,
    readonly errors: Array<{ market: string; code: string; message: string }>,
  ) {
    super(
      `plan ${planId}: no capacity: ${errors.map((e) => `${e.market}: ${e.code} (${e.message})`).join('; ')}`,
    );
  }
}

/** CreateFleet failed for a reason other than capacity (bad parameters, permissions, …). */
export class LaunchFailedError extends Ec2ProvisionError {
  override readonly name = 'LaunchFailed';
  readonly nonRetryable = true;
  constructor(
    readonly planId: string,
    readonly code: string,
    detail: string,
  ) {
    super(`plan ${planId}: CreateFleet failed: ${code}: ${detail}`);
  }
}

/**
 * Error codes meaning "no capacity for this request right now", from CreateFleet's `Errors` or a
 * thrown service exception. Spot refusals trigger the on-demand fallback.
 */
export const CAPACITY_ERROR_CODES: ReadonlySet<string> = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'MaxSpotInstanceCountExceeded',
  'SpotMaxPriceTooLow',
  'UnfulfillableCapacity',
]);

export function isCapacityErrorCode(code: string | undefined): boolean {
  return code !== undefined && CAPACITY_ERROR_CODES.has(code);
}
