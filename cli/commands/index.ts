import type { Command } from 'commander';
import { registerBench } from './bench';
import { registerCleanup } from './cleanup';
import { registerDemo } from './demo';
import { registerEc2 } from './ec2';
import { registerFleet } from './fleet';
import { registerForecast } from './forecast';
import { registerLearn } from './learn';
import { registerPlan } from './plan';
import { registerReport } from './report';
import { registerRun } from './run';
import { registerServer } from './server';
import { registerStandIn } from './stand-in';
import { registerCancel, registerStatus } from './status';
import { registerTenants } from './tenants';
import { registerWorker } from './worker';

/** Every CLI command registers itself on the program; add new commands here. */
export const commandRegistrations: Array<(program: Command) => void> = [
  registerDemo,
  registerForecast,
  registerPlan,
  registerRun,
  registerStatus,
  registerReport,
  registerCancel,
  registerFleet,
  registerTenants,
  registerServer,
  registerWorker,
  registerEc2,
  registerCleanup,
  registerBench,
  registerLearn,
  registerStandIn,
];
