import { Option, type Command } from 'commander';
import {
  crossValidate,
  evaluateHeldOut,
  figuresOf,
  formatCrossValidation,
  formatSummary,
  LEARNED,
  learnedPolicy,
  ratiosToHeuristic,
  trainPolicy,
  unseenData,
  updateFromEpisodes,
  writeJson,
} from '../../bench/learn';
import { expandFiles, summariseRuns } from '../../bench/schedule';
import { listEpisodes } from '../../src/learn/episodes';
import { readPolicyModelFile, writePolicyModelFile } from '../../src/learn/model';
import {
  addVersion,
  currentModel,
  pinVersion,
  promoteIfBetter,
  readIndex,
  rollback,
} from '../../src/learn/registry';
import { nonNegativeInt, positiveInt } from '../args';
import { withStore } from '../checkpoint-store';
import { defaultCheckpointStore } from './report';

const DATA_EXAMPLE =
  '--workflows ../shared/data/workflows --traces ../shared/data/spot-traces --prices ../shared/data/spot-prices/spotlake-2024-01-01-to-24.csv';

interface TrainCli {
  workflows: string[];
  traces: string[];
  prices: string;
  out: string;
  seed: number;
  generations: number;
  population: number;
  windows: number;
  seeds: number;
  progress: boolean;
}

interface UpdateCli {
  workflows: string[];
  traces: string;
  prices: string;
  heldOutGroup?: string;
  checkpointStore: string;
  seed: number;
  generations: number;
  population: number;
  windows: number;
  seeds: number;
  json?: boolean;
  progress: boolean;
}

interface EvalCli {
  workflows: string[];
  traces: string;
  prices: string;
  model?: string;
  promote?: boolean;
  checkpointStore: string;
  seed: number;
  generations: number;
  population: number;
  trainWindows: number;
  trainSeeds: number;
  windows: number;
  seeds: number;
  json?: string;
  progress: boolean;
}

/** The evolution strategy's options, the same in train, eval and update. */
const seedOption = (what = '') =>
  new Option('--seed <n>', `${what}seed of the evolution strategy`).argParser(nonNegativeInt).default(1);
const generationsOption = (what = '') =>
  new Option('--generations <n>', `${what}generations`).argParser(nonNegativeInt).default(4);
const populationOption = (what = '') =>
  new Option('--population <n>', `${what}policies tried per generation`).argParser(positiveInt).default(4);

const storeOption = () =>
  new Option('--checkpoint-store <url>', 'where model versions are kept').default(defaultCheckpointStore());

/** Held-out evaluation of one model file; with `promote`, stores it and promotes it if it beats the current one. */
async function evaluateModel(opts: EvalCli): Promise<void> {
  const model = readPolicyModelFile(opts.model!);
  const unseen = unseenData(model, expandFiles(opts.workflows), opts.traces);
  process.stderr.write(
    `evaluating on what the model did not train on: ${unseen.workflows.length} workflow file(s), ${unseen.traces.length} trace group(s)\n`,
  );
  const current = opts.promote ? await withStore(opts.checkpointStore, currentModel) : undefined;
  const extras = [learnedPolicy(LEARNED, model.params)];
  if (current) extras.push(learnedPolicy(`spotdag-learned-v${current.version}`, current.model.params));
  const runs = evaluateHeldOut(
    { ...unseen, prices: opts.prices, windows: opts.windows, seeds: opts.seeds },
    extras,
    opts.progress,
  );
  const names = [
    'on-demand-heft',
    'spotdag',
    'uniform-progress',
    'spotdag-heft-order',
    ...extras.map((e) => e.name),
  ];
  const summary = summariseRuns(runs, names);
  const figures = figuresOf(summary);
  const ratios = ratiosToHeuristic(runs, LEARNED);
  process.stdout.write(formatSummary(summary));
  const mean = ratios.reduce((a, b) => a + b, 0) / Math.max(1, ratios.length);
  process.stdout.write(
    `learned ÷ heuristic cost, mean over ${ratios.length} held-out scenarios: ${mean.toFixed(3)}\n`,
  );
  let promotion: { version: number; promoted: boolean; reason: string } | undefined;
  if (opts.promote) {
    const incumbent = current ? figures[`spotdag-learned-v${current.version}`]! : figures.spotdag!;
    promotion = await withStore(opts.checkpointStore, async (store) => {
      const version = await addVersion(store, model, figures[LEARNED]);
      return { version, ...(await promoteIfBetter(store, version, figures[LEARNED]!, incumbent)) };
    });
    process.stdout.write(
      `stored as version ${promotion.version}: ${promotion.promoted ? 'promoted' : 'not promoted'} (${promotion.reason})\n`,
    );
  }
  if (opts.json)
    writeJson(opts.json, { model: opts.model, unseen, summary, learnedVsHeuristic: mean, promotion, runs });
}

export function registerLearn(program: Command): void {
  const learn = program
    .command('learn')
    .description(
      'the learned policy: train it in the simulator, evaluate it out of sample, manage its versions (docs/learning.md)',
    );

  learn
    .command('train')
    .description(
      'train the controller’s parameters with an evolution strategy over simulated jobs (deterministic for a seed)',
    )
    .addHelpText('after', `\nExample:\n  spotdag learn train ${DATA_EXAMPLE} --out model.json`)
    .requiredOption('--workflows <paths...>', 'WfFormat files or directories')
    .requiredOption('--traces <paths...>', 'SkyPilot spot trace files or directories (pooled)')
    .requiredOption('--prices <file>', 'spot prices: SpotLake .csv, history .tsv or AWS .json')
    .requiredOption('--out <file>', 'where to write the model (JSON, with its training curve)')
    .addOption(seedOption())
    .addOption(generationsOption())
    .addOption(populationOption())
    .option('--windows <n>', 'job start times spread over the price data', positiveInt, 2)
    .option('--seeds <n>', 'trace-to-pool mappings per window', positiveInt, 1)
    .option('--no-progress', 'no progress bar on stderr')
    .action((opts: TrainCli) => {
      const model = trainPolicy({ ...opts });
      writePolicyModelFile(opts.out, model);
      const t = model.training;
      process.stdout.write(
        `trained on ${t.scenarios} scenarios in ${t.elapsedSeconds.toFixed(0)} s: training score ${t.score.toFixed(4)} ` +
          `against the heuristic's ${t.heuristicScore.toFixed(4)} (mean cost ÷ on-demand, +1 per missed deadline); wrote ${opts.out}\n` +
          'this is in sample: `spotdag learn eval --model` measures it on data it did not train on\n',
      );
    });

  learn
    .command('eval')
    .description(
      'out of sample: with --model, on the trace groups and workflow families it did not train on; without, leave one trace group and families out at a time, training on the rest',
    )
    .addHelpText(
      'after',
      `\nExamples:\n  spotdag learn eval ${DATA_EXAMPLE} --json eval.json\n` +
        `  spotdag learn eval --model model.json ${DATA_EXAMPLE} --promote`,
    )
    .requiredOption('--workflows <paths...>', 'WfFormat files or directories')
    .requiredOption(
      '--traces <dir>',
      'the root of the trace groups (each directory of trace files is one group)',
    )
    .requiredOption('--prices <file>', 'spot prices: SpotLake .csv, history .tsv or AWS .json')
    .option('--model <file>', 'evaluate this model instead of training one per fold')
    .option('--promote', 'with --model: store it as a new version, current if it beats the current one here')
    .addOption(storeOption())
    .addOption(seedOption('training: '))
    .addOption(generationsOption('training: '))
    .addOption(populationOption('training: '))
    .option('--train-windows <n>', 'training: start times', positiveInt, 2)
    .option('--train-seeds <n>', 'training: trace mappings per start time', positiveInt, 1)
    .option('--windows <n>', 'held out: start times', positiveInt, 3)
    .option('--seeds <n>', 'held out: trace mappings per start time', positiveInt, 2)
    .option('--json <file>', 'write the folds, summary and every run as JSON')
    .option('--no-progress', 'no progress on stderr')
    .action(async (opts: EvalCli) => {
      if (opts.model) return evaluateModel(opts);
      if (opts.promote) throw new Error('--promote needs --model');
      const result = crossValidate({
        workflows: opts.workflows,
        traces: opts.traces,
        prices: opts.prices,
        train: {
          seed: opts.seed,
          generations: opts.generations,
          population: opts.population,
          windows: opts.trainWindows,
          seeds: opts.trainSeeds,
        },
        windows: opts.windows,
        seeds: opts.seeds,
        progress: opts.progress,
      });
      process.stdout.write(formatCrossValidation(result));
      if (opts.json) writeJson(opts.json, result);
    });

  learn
    .command('update')
    .description(
      'refine the current policy from the episodes of finished jobs, and promote it only if it beats the current one on a held-out trace group',
    )
    .addHelpText(
      'after',
      `\nExample:\n  spotdag learn update ${DATA_EXAMPLE}\n` +
        '\nThe episodes’ jobs are trained on every trace group but the held-out one (default: the last); the\n' +
        'comparison runs the reference --workflows on the held-out group.',
    )
    .requiredOption('--workflows <paths...>', 'reference workflows for the held-out comparison')
    .requiredOption('--traces <dir>', 'the root of the trace groups')
    .requiredOption('--prices <file>', 'spot prices: SpotLake .csv, history .tsv or AWS .json')
    .option('--held-out-group <name>', 'the trace group kept for the comparison (default: the last)')
    .addOption(storeOption())
    .addOption(seedOption())
    .addOption(generationsOption())
    .addOption(populationOption())
    .option('--windows <n>', 'job start times spread over the price data', positiveInt, 2)
    .option('--seeds <n>', 'trace-to-pool mappings per window', positiveInt, 1)
    .option('--json', 'print JSON')
    .option('--no-progress', 'no progress on stderr')
    .action(async (opts: UpdateCli) => {
      const { checkpointStore, json, ...options } = opts;
      const result = await withStore(checkpointStore, (store) => updateFromEpisodes(store, options));
      if (json) return console.log(JSON.stringify(result));
      if (result.episodes.length === 0) return console.log('no new episodes: nothing to learn from');
      console.log(
        `learned from ${result.episodes.length} episode(s): version ${result.version} ` +
          `${result.promoted ? 'promoted' : 'not promoted'} over ${result.incumbentVersion === 0 ? 'the heuristic' : `version ${result.incumbentVersion}`} (${result.reason})`,
      );
    });

  learn
    .command('episodes')
    .description('the finished jobs’ episodes in the store, and which version consumed each')
    .addOption(storeOption())
    .option('--json', 'print JSON')
    .action(async (opts: { checkpointStore: string; json?: boolean }) => {
      const episodes = await withStore(opts.checkpointStore, listEpisodes);
      if (opts.json) return console.log(JSON.stringify(episodes));
      if (episodes.length === 0) return console.log('no episodes yet: finished jobs record theirs');
      for (const e of episodes)
        console.log(
          `${e.jobId}  finished ${new Date(e.finishedAtMs).toISOString()}  ${e.consumedBy === undefined ? 'new' : `consumed by version ${e.consumedBy}`}`,
        );
    });

  learn
    .command('show')
    .description('the model version jobs use, every version and the promotion log')
    .addOption(storeOption())
    .option('--json', 'print JSON')
    .action(async (opts: { checkpointStore: string; json?: boolean }) => {
      const index = await withStore(opts.checkpointStore, readIndex);
      if (opts.json) return console.log(JSON.stringify(index));
      console.log(
        index.current === undefined
          ? 'current: the heuristic (no learned version is current)'
          : `current: version ${index.current}${index.pinned ? ' (pinned)' : ''}`,
      );
      for (const v of index.versions)
        console.log(
          `version ${v.version}  created ${v.createdAt}` +
            (v.heldOut
              ? `  held out: ${v.heldOut.costVsOnDemand.toFixed(3)} × on-demand, ${v.heldOut.deadlineMetPct.toFixed(1)} % deadlines met`
              : ''),
        );
      for (const e of index.log.slice(-20))
        console.log(
          `${e.at}  ${e.action} ${e.version}${e.from !== undefined ? ` (was ${e.from})` : ''}${e.reason ? `: ${e.reason}` : ''}`,
        );
    });

  learn
    .command('pin')
    .description('make VERSION current and keep it (0: the heuristic); `learn eval --promote` then leaves it')
    .argument('<version>', 'a stored version, or 0', nonNegativeInt)
    .addOption(storeOption())
    .action(async (version: number, opts: { checkpointStore: string }) => {
      await withStore(opts.checkpointStore, (store) => pinVersion(store, version));
      console.log(version === 0 ? 'pinned the heuristic' : `pinned version ${version}`);
    });

  learn
    .command('rollback')
    .description('back to the version current before this one (or the heuristic), and unpin')
    .addOption(storeOption())
    .action(async (opts: { checkpointStore: string }) => {
      const now = await withStore(opts.checkpointStore, (store) => rollback(store));
      console.log(now === undefined ? 'rolled back to the heuristic' : `rolled back to version ${now}`);
    });
}
