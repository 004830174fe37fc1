import { formatChaos, runChaos, writeChaosJson } from '../../bench/chaos';
import { startLocalStack } from '../../workers/local-stack';
import { startCliLogs, type LogFlags } from '../logs';
import { EXIT } from '../errors';
import { stateDir } from '../state';

export interface ChaosCli extends LogFlags {
  kills: number;
  stops: number;
  spread: number;
  heartbeatTimeout: number;
  seed?: number;
  json?: string;
}

/** `spotdag bench chaos`: this process is the control worker; the job starts with `temporal workflow start`. */
export async function runChaosCommand(opts: ChaosCli): Promise<void> {
  startCliLogs(opts);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const stack = await startLocalStack({ stateDir: stateDir(), log });
  const seed = opts.seed ?? Date.now() % 2 ** 31;
  log(`chaos seed ${seed} (--seed ${seed} repeats the hit times and targets)`);
  try {
    const result = await stack.runUntil(() =>
      runChaos({
        stack,
        workflowId: `chaos-${Date.now().toString(36)}`,
        kills: opts.kills,
        stops: opts.stops,
        spreadSeconds: opts.spread,
        heartbeatTimeoutSeconds: opts.heartbeatTimeout,
        seed,
        log,
      }),
    );
    process.stdout.write(formatChaos(result));
    if (opts.json) writeChaosJson(opts.json, result);
    if (!result.correct) process.exitCode = EXIT.failed;
  } finally {
    await stack.close();
  }
}
