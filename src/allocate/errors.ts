/** Errors of the allocator that users can act on. */
export class AllocationError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No pool can hold a sub-task (too many cores or too much memory), or no pool is left at all. */
export class NoCapacityError extends AllocationError {
  constructor(
    readonly subTaskId: string,
    detail: string,
  ) {
    super(`no capacity for sub-task ${subTaskId}: ${detail}`);
  }
}

/** The cheapest schedule found still costs more than `preferences.budget`. */
export class BudgetExceededError extends AllocationError {
  constructor(
    readonly budgetUsd: number,
    readonly predictedCostUsd: number,
  ) {
    super(
      `preferences.budget: the cheapest schedule found costs $${predictedCostUsd.toFixed(4)}, ` +
        `more than the budget of $${budgetUsd.toFixed(4)}`,
    );
  }
}
