import type { Command } from 'commander';
import { registerDemo } from './demo';
import { registerForecast } from './forecast';
import { registerPlan } from './plan';
import { registerServer } from './server';
import { registerWorker } from './worker';

/** Every CLI command registers itself on the program; add new commands here. */
export const commandRegistrations: Array<(program: Command) => void> = [
  registerDemo,
  registerForecast,
  registerPlan,
  registerServer,
  registerWorker,
];
