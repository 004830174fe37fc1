import { existsSync, readFileSync } from 'node:fs';

/**
 * The units a `workload.spin` job did, from its ledger file: per sub-task, how often each unit was
 * done. A unit done twice is work an interruption or a rollback made the job redo.
 */
export function readLedger(file: string, jobId: string): Map<string, Map<number, number>> {
  const bySubTask = new Map<string, Map<number, number>>();
  if (!existsSync(file)) return bySubTask;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [job, subTask, unit] = line.split(' ');
    if (job !== jobId || !subTask || unit === undefined) continue;
    const units = bySubTask.get(subTask) ?? new Map<number, number>();
    units.set(Number(unit), (units.get(Number(unit)) ?? 0) + 1);
    bySubTask.set(subTask, units);
  }
  return bySubTask;
}

/** Units done more than once, ascending. */
export function redoneUnits(units: Map<number, number>): number[] {
  return [...units.entries()]
    .filter(([, times]) => times > 1)
    .map(([unit]) => unit)
    .sort((a, b) => a - b);
}
