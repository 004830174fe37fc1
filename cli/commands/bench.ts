import { Option, type Command } from 'commander';
import { runAllocateBenchmark } from '../../bench/allocate';
import { recordSimulatedEpisodes, recordsEpisode } from '../../bench/episodes';
import { runDagBenchmark } from '../../bench/dag';
import { formatForecastBenchmark, runForecastBenchmark } from '../../bench/forecast';
import { runEngineBenchmarkCli, type EngineCli } from '../../bench/engine';
import { runScheduleBenchmark, type ScheduleRun } from '../../bench/schedule';
import type { DagArrays } from '../../src/allocate/rank';
import { withStore } from '../checkpoint-store';
import { defaultCheckpointStore } from './report';
import {
  formatOrderBench,
  runOrderBenchmark,
  writeOrderJson,
  type OrderBenchOptions,
} from '../../bench/order';
import { formatTenancyBench, runTenancyBench, writeTenancyJson } from '../../bench/tenancy';
import { formatTwinBenchmark, runTwinBenchmark, TWIN_SCENARIOS } from '../../bench/twin';
import { startCliLogs, VERBOSE_HELP, type LogFlags } from '../logs';
import { runSingleBenchmark, runSingleSweep } from '../../bench/single';
import { runRecoveryBenchmarkCommand, type RecoveryCli } from './bench-recovery';
import { runChaosCommand, type ChaosCli } from './bench-chaos';
import { runTransferBenchmarkCommand, type TransfersCli } from './bench-transfers';
import { parseDurationSeconds } from '../../src/util/duration';
import { nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from '../args';

function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').filter(Boolean)];
}

interface ScheduleCli {
  workflows: string[];
  traces: string;
  prices: string;
  advisor?: string;
  runtimeScale: number;
  deadlineFactor: number;
  seeds: number;
  windows: number;
  maxInstances: number;
  policies?: string[];
  json?: string;
  progress: boolean;
  recordEpisodes?: boolean;
  checkpointStore: string;
}

type OrderCli = OrderBenchOptions & { json?: string };

interface SingleCli {
  trace?: string;
  traces?: string[];
  starts: number;
  omniscient: boolean;
  workHours: number;
  deadlineHours: number;
  overheadHours: number;
  spotPrice: number;
  onDemandPrice: number;
  startTick: number;
  json?: string;
  progress: boolean;
}

/** `spotdag bench schedule | order | single | allocate | dag | forecast | recovery | chaos | transfers | engine`. */
export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('benchmarks: scheduling policies, allocator speed, dag, forecasts');
  bench
    .command('schedule')
    .description('simulate every workflow × window × seed under every policy on real traces and prices')
    .addHelpText(
      'after',
      '\nExample:\n  spotdag bench schedule --workflows ../shared/data/workflows --traces ../shared/data/spot-traces --prices ../shared/data/spot-prices/spotlake-2024-01-01-to-24.csv --json schedule.json',
    )
    .requiredOption('--workflows <paths...>', 'WfFormat files or directories (every .json under them)')
    .requiredOption('--traces <dir>', 'SkyPilot spot traces (every .json under the directory)')
    .requiredOption('--prices <file>', 'spot prices: SpotLake .csv, history .tsv or AWS .json')
    .option('--advisor <file>', 'Spot Advisor JSON: shapes of instance types beyond the built-in table')
    .option('--runtime-scale <x>', 'multiply workflow runtimes', positiveNumber, 30)
    .option('--deadline-factor <x>', 'deadline = factor × HEFT on-demand makespan', positiveNumber, 1.5)
    .option('--seeds <n>', 'trace-to-pool mappings per window', positiveInt, 5)
    .option('--windows <n>', 'job start times spread over the price data', positiveInt, 3)
    .option('--max-instances <n>', 'instances alive at once', positiveInt, 64)
    .option('--policies <names>', 'comma-separated subset of policies', list)
    .option('--json <file>', 'write every run and the per-policy summary as JSON')
    .option('--no-progress', 'no progress bar on stderr')
    .option(
      '--record-episodes',
      'keep each run of the heuristic `spotdag` as an episode for `spotdag learn update`',
    )
    .addOption(
      new Option('--checkpoint-store <url>', 'where --record-episodes keeps them').default(
        defaultCheckpointStore(),
      ),
    )
    .action(async (opts: ScheduleCli) => {
      const episodes: Array<{ run: ScheduleRun; d: DagArrays }> = [];
      runScheduleBenchmark({
        workflows: opts.workflows,
        traces: opts.traces,
        prices: opts.prices,
        advisor: opts.advisor,
        runtimeScale: opts.runtimeScale,
        deadlineFactor: opts.deadlineFactor,
        seeds: opts.seeds,
        windows: opts.windows,
        maxInstances: opts.maxInstances,
        policies: opts.policies,
        json: opts.json,
        progress: opts.progress,
        ...(opts.recordEpisodes
          ? {
              onRun: (run: ScheduleRun, d: DagArrays) =>
                void (recordsEpisode(run) && episodes.push({ run, d })),
            }
          : {}),
      });
      if (!opts.recordEpisodes) return;
      const fresh = await withStore(opts.checkpointStore, (store) =>
        recordSimulatedEpisodes(store, episodes, opts.prices),
      );
      console.log(
        `episodes: ${fresh} new of ${episodes.length} runs of spotdag, in ${opts.checkpointStore} (spotdag learn update learns from them)`,
      );
    });
  bench
    .command('order')
    .description(
      'learn the PageRank order’s mix leaving one workflow family out at a time, against HEFT and topological order',
    )
    .addHelpText(
      'after',
      '\nExample:\n  spotdag bench order --workflows ../shared/data/workflows --traces ../shared/data/spot-traces --prices ../shared/data/spot-prices/spotlake-2024-01-01-to-24.csv --json order.json',
    )
    .requiredOption('--workflows <paths...>', 'WfFormat files or directories (one family per file)')
    .requiredOption('--traces <dir>', 'SkyPilot spot traces (every .json under the directory)')
    .requiredOption('--prices <file>', 'spot prices: SpotLake .csv, history .tsv or AWS .json')
    .option('--candidates <n>', 'candidate mixes, the hand-set one included', positiveInt, 16)
    .option('--seed <n>', 'seed of the random candidates', positiveInt, 1)
    .option('--seeds <n>', 'trace-to-pool mappings per window', positiveInt, 1)
    .option('--windows <n>', 'job start times spread over the price data', positiveInt, 3)
    .option('--json <file>', 'write the candidates, folds and summary as JSON')
    .option('--no-progress', 'no progress bar on stderr')
    .action(({ json, ...options }: OrderCli) => {
      const result = runOrderBenchmark(options);
      process.stdout.write(formatOrderBench(result));
      if (json) writeOrderJson(json, result);
    });
  bench
    .command('single')
    .description(
      'one long job on one spot trace (Can’t Be Late’s tick model): on-demand, greedy, uniform-progress, spotdag and the exact optimum',
    )
    .addHelpText(
      'after',
      '\nExample:\n  spotdag bench single --trace ../shared/data/spot-traces/availability/1-node/aws-02-15-2023/us-east-1a_v100_1.json --work-hours 48 --deadline-hours 52 --overhead-hours 0.2 --spot-price 0.97 --on-demand-price 3.06 --json single.json',
    )
    .option('--trace <file>', 'SkyPilot spot trace (.json; a value of 1 = no spot capacity at that tick)')
    .option(
      '--traces <paths...>',
      'instead of --trace: every trace under these files or directories, --starts jobs each; prints the mean cost per policy and its ratio to Uniform Progress',
    )
    .option('--starts <n>', 'with --traces: start ticks per trace, spread evenly', positiveInt, 5)
    .option('--no-omniscient', 'with --traces: skip the exact optimum (slow on traces with short ticks)')
    .option('--work-hours <h>', 'hours of work of the job', positiveNumber, 48)
    .option('--deadline-hours <h>', 'deadline from the start', positiveNumber, 52)
    .option(
      '--overhead-hours <h>',
      'restart overhead: billed time without progress after a (re)start',
      nonNegativeNumber,
      0.2,
    )
    .option('--spot-price <usd>', 'spot price per hour', positiveNumber, 0.97)
    .option('--on-demand-price <usd>', 'on-demand price per hour', positiveNumber, 3.06)
    .option('--start-tick <n>', 'trace tick at which the job starts', nonNegativeInt, 0)
    .option('--json <file>', 'write { policies: [{ policy, cost, finishHours, deadlineMet }] }')
    .option('--no-progress', 'no progress lines on stderr')
    .action((opts: SingleCli) => {
      if (opts.traces) {
        runSingleSweep({ ...opts, traces: opts.traces });
        return;
      }
      if (!opts.trace)
        throw Object.assign(new Error('give --trace <file> or --traces <paths...>'), { exitCode: 2 });
      runSingleBenchmark({ ...opts, trace: opts.trace });
    });
  bench
    .command('allocate')
    .description('time the allocator on synthetic DAGs over synthetic pools')
    .addHelpText(
      'after',
      '\nExample:\n  spotdag bench allocate --sizes 2000,10000 --pools 200 --json allocate.json',
    )
    .option('--sizes <n,n>', 'sub-task counts', (v) => v.split(',').map(Number), [2000, 10000])
    .option('--pools <n>', 'pools (each spot and on-demand)', positiveInt, 200)
    .option('--repeat <n>', 'runs per size (median reported)', positiveInt, 3)
    .option('--json <file>', 'write the rows as JSON')
    .action((opts: { sizes: number[]; pools: number; repeat: number; json?: string }) => {
      runAllocateBenchmark(opts);
    });
  bench
    .command('recovery')
    .description('kill and interrupt real instance processes mid-sub-task: detection, resume, work lost')
    .addHelpText(
      'after',
      '\nExample:\n  spotdag bench recovery --trials 3 --heartbeat-timeout 5 --checkpoint-interval 2 --json recovery.json',
    )
    .option('--trials <n>', 'trials per mode (kill without notice; notice then kill)', positiveInt, 3)
    .option('--heartbeat-timeout <s>', 'sub-task heartbeat timeout, seconds', positiveInt, 5)
    .option(
      '--checkpoint-interval <s>',
      'instances checkpoint at most this often, seconds',
      positiveNumber,
      2,
    )
    .option('--notice <s>', 'spot notice lead time before the kill, seconds', positiveNumber, 5)
    .option('--work <s>', 'seconds of work in each trial’s sub-task', positiveNumber, 20)
    .option('--unit-ms <ms>', 'work unit (a ledger line each)', positiveInt, 100)
    .option('--seed <n>', 'seed of the hit times', positiveInt, 1)
    .option('--json <file>', 'write the summary and every trial as JSON')
    .option('--verbose', VERBOSE_HELP)
    .action(async (opts: RecoveryCli) => {
      await runRecoveryBenchmarkCommand(opts);
    });
  bench
    .command('chaos')
    .description(
      'π(10¹⁰) in 60 chunks on 4 local instances, started with `temporal workflow start`, instance processes SIGKILLed or SIGSTOPped at random: time, result, work lost',
    )
    .addHelpText(
      'after',
      '\nExample:\n  spotdag bench chaos --kills 7 --stops 1 --spread 25 --json chaos.json',
    )
    .option('--kills <n>', 'instance processes SIGKILLed', nonNegativeInt, 7)
    .option('--stops <n>', 'instance processes SIGSTOPped (hung)', nonNegativeInt, 1)
    .option('--spread <s>', 'the hits fall at random over this many seconds', positiveNumber, 25)
    .option('--heartbeat-timeout <s>', 'sub-task heartbeat timeout, seconds', positiveInt, 5)
    .option('--seed <n>', 'seed of the hit times and targets (default: the clock)', positiveInt)
    .option('--json <file>', 'write the hits and the figures as JSON')
    .option('--verbose', VERBOSE_HELP)
    .action(async (opts: ChaosCli) => {
      await runChaosCommand(opts);
    });
  bench
    .command('tenancy')
    .description(
      'three tenants (weights 1:1:2) with backlogs on a fleet of 4 local instances, then a priority-1 job: quota violations, fairness, the priority job’s slowdown',
    )
    .addHelpText('after', '\nExample:\n  spotdag bench tenancy --json tenancy.json')
    .option(
      '--workflows <dir>',
      'WfFormat workflows the simulated jobs run (one family per file)',
      '../shared/data/workflows',
    )
    .option('--simulator-only', 'skip the real run')
    .option('--jobs-per-tenant <n>', 'real run: priority-5 jobs each tenant submits', positiveInt, 8)
    .option('--urgent-units <n>', 'units of 100 ms of the priority-1 job (2 instances)', positiveInt, 300)
    .option('--backlog-units <n>', 'units of 100 ms of each backlog job (1 instance)', positiveInt, 80)
    .option(
      '--shared-jobs-per-tenant <n>',
      'real run: jobs per tenant run on their own instances, then on a shared fleet (0: skip)',
      nonNegativeInt,
      4,
    )
    .option(
      '--shared-warm-seconds <s>',
      'real run: how long the shared fleet keeps an idle instance (about a boot)',
      nonNegativeNumber,
      1,
    )
    .option('--json <file>', 'write the figures as JSON')
    .option('--verbose', VERBOSE_HELP)
    .action(
      async (
        opts: {
          workflows: string;
          simulatorOnly?: boolean;
          jobsPerTenant: number;
          urgentUnits: number;
          backlogUnits: number;
          sharedJobsPerTenant: number;
          sharedWarmSeconds: number;
          json?: string;
        } & LogFlags,
      ) => {
        startCliLogs(opts);
        const result = await runTenancyBench({
          workflowsDir: opts.workflows,
          simulatorOnly: opts.simulatorOnly,
          jobsPerTenant: opts.jobsPerTenant,
          urgentUnits: opts.urgentUnits,
          sharedJobsPerTenant: opts.sharedJobsPerTenant,
          sharedWarmSeconds: opts.sharedWarmSeconds,
          backlogUnits: opts.backlogUnits,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(formatTenancyBench(result));
        if (opts.json) writeTenancyJson(opts.json, result);
        if (!result.correct || result.quotaViolations > 0) process.exitCode = 1;
      },
    );
  bench
    .command('transfers')
    .description(
      'input prefetch on vs off: a WfFormat workflow of stand-ins on local instances over an emulated link',
    )
    .addHelpText(
      'after',
      '\nExample:\n  spotdag bench transfers --workflow ../shared/data/workflows/epigenomics-chameleon-hep-1seq-100k-001.json --runtime-scale 0.05 --size-scale 0.25 --bandwidth 25 --json transfers.json',
    )
    .option(
      '--workflow <file>',
      'a WfFormat workflow (its tasks run as stand-ins)',
      '../shared/data/workflows/epigenomics-chameleon-hep-1seq-100k-001.json',
    )
    .option('--runtime-scale <x>', 'stand-ins burn runtimeInSeconds × this', positiveNumber, 0.05)
    .option('--size-scale <x>', 'file sizes × this', positiveNumber, 0.25)
    .option('--instances <n>', 'local instances', positiveInt, 2)
    .option('--slots <n>', 'sub-tasks per instance at once', positiveInt, 1)
    .option(
      '--bandwidth <MB/s>',
      'emulated download speed of each instance (default: no limit)',
      positiveNumber,
    )
    .option('--repeat <n>', 'runs per mode (alternating)', positiveInt, 1)
    .option('--json <file>', 'write every run and the summary as JSON')
    .option('--verbose', VERBOSE_HELP)
    .action(async (opts: TransfersCli) => {
      await runTransferBenchmarkCommand(opts);
    });
  bench
    .command('dag')
    .description('time decomposition, validation and analysis (bench/dag.ts)')
    .addHelpText('after', '\nExample:\n  spotdag bench dag --sub-tasks 100000 --json dag.json')
    .option('--sub-tasks <n>', 'sub-tasks of the synthetic JobSpec', positiveInt)
    .option('--repeat <n>', 'repeats', positiveInt)
    .option('--json <file>', 'write the rows as JSON')
    .argument('[workflows...]', 'WfFormat files')
    .action((workflows: string[], opts: { subTasks?: number; repeat?: number; json?: string }) => {
      runDagBenchmark({
        subTasks: opts.subTasks,
        repeat: opts.repeat,
        jsonOut: opts.json,
        workflows: workflows.length ? workflows : undefined,
      });
    });
  bench
    .command('forecast')
    .description('time forecasting every pool of a price file (bench/forecast.ts)')
    .addHelpText(
      'after',
      '\nExample:\n  spotdag bench forecast --prices ../shared/data/spot-prices/spotlake-2024-01-01-to-24.csv --json forecast.json',
    )
    .requiredOption('--prices <file>', 'price file')
    .option('--horizon <duration>', 'forecast horizon', (v) => parseDurationSeconds(v), 86_400)
    .option('--repeats <n>', 'repeats', positiveInt, 5)
    .option('--json <file>', 'write the result as JSON')
    .action((opts: { prices: string; horizon: number; repeats: number; json?: string }) => {
      const result = runForecastBenchmark({
        prices: opts.prices,
        horizonSeconds: opts.horizon,
        repeats: opts.repeats,
        json: opts.json,
      });
      process.stdout.write(formatForecastBenchmark(result));
    });
  bench
    .command('engine')
    .description(
      'per-sub-task overhead of a spotdag job vs. plain Temporal fan-outs of the same no-op activities',
    )
    .addHelpText(
      'after',
      '\nExample:\n  spotdag bench engine --sub-tasks 200 --instances 4 --slots 8 --repeat 3 --json engine.json',
    )
    .option('--sub-tasks <n>', 'no-op sub-tasks (activities, children) per run', positiveInt, 200)
    .option('--instances <n>', 'worker processes (spotdag: local instances)', positiveInt, 4)
    .option('--slots <n>', 'activities each runs at once', positiveInt, 8)
    .option('--repeat <n>', 'runs of each mode (median reported)', positiveInt, 3)
    .option('--no-warmup', 'no unmeasured warm-up run of each mode')
    .option('--no-breakdown', 'do not read the children’s histories for the per-stage breakdown')
    .option('--json <file>', 'write the rows, every run and the breakdown as JSON')
    .option('--verbose', VERBOSE_HELP)
    .action(async (opts: EngineCli) => {
      await runEngineBenchmarkCli(opts);
    });
  bench
    .command('twin')
    .description(
      'the same scenarios in the simulator and as real jobs on a replayed spot market: decisions agreeing, real deadlines, real ÷ simulated cost',
    )
    .addHelpText('after', '\nExample:\n  spotdag bench twin --json twin.json')
    .option(
      '--scenarios <names>',
      `comma-separated subset of: ${TWIN_SCENARIOS.map((s) => s.name).join(', ')}`,
      list,
    )
    .option('--json <file>', 'write the summary and every scenario as JSON')
    .option('--verbose', VERBOSE_HELP)
    .action(async (opts: { scenarios?: string[]; json?: string } & LogFlags) => {
      startCliLogs(opts);
      const known = new Map(TWIN_SCENARIOS.map((s) => [s.name, s]));
      const scenarios = (opts.scenarios ?? [...known.keys()]).map((name) => {
        const s = known.get(name);
        if (!s) throw Object.assign(new Error(`--scenarios: unknown scenario "${name}"`), { exitCode: 2 });
        return s;
      });
      const result = await runTwinBenchmark({
        scenarios,
        json: opts.json,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(formatTwinBenchmark(result));
    });
}
