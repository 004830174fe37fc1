import type { StepContext } from './registry';

/** A step handler that adds up its inputs' outputs (numbers), naming `step` in errors. */
export function sumOfInputs(step: string): (ctx: StepContext) => number {
  return (ctx) => {
    let total = 0;
    for (const [id, value] of Object.entries(ctx.inputs)) {
      if (typeof value !== 'number') throw new TypeError(`${step}: input from ${id} is not a number`);
      total += value;
    }
    return total;
  };
}
