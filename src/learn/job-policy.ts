/**
 * Which policy a real job's controller runs: the learned model current when the job started (its
 * version kept in the controller's memory, so that a promotion mid-job does not change a running
 * job's policy), or the heuristic when the job asks for it or no version is current.
 */
import type { Preferences } from '../allocate/preferences';
import type { CheckpointStore } from '../checkpoint/types';
import type { ControllerOptions } from '../controller/controller';
import type { ControllerMemory } from '../controller/types';
import { currentModel, readModel } from './registry';

export interface JobPolicy {
  /** The learned version (0: the heuristic). */
  version: number;
  options: Pick<ControllerOptions, 'rankMix' | 'tuning'>;
  /** One line for the decision's notes, at the job's first decision. */
  note?: string;
}

const HEURISTIC: JobPolicy = { version: 0, options: {} };

export async function jobPolicy(
  store: CheckpointStore | undefined,
  preferences: Pick<Preferences, 'policy'>,
  memory: Pick<ControllerMemory, 'policyVersion'>,
): Promise<JobPolicy> {
  if (preferences.policy === 'heuristic') return HEURISTIC;
  if (memory.policyVersion !== undefined) {
    if (memory.policyVersion === 0 || !store) return HEURISTIC;
    const model = await readModel(store, memory.policyVersion);
    return {
      version: memory.policyVersion,
      options: { rankMix: model.params.rankMix, tuning: model.params.tuning },
    };
  }
  const current = store && (await currentModel(store));
  if (!current)
    return {
      ...HEURISTIC,
      note:
        preferences.policy === 'learned'
          ? 'policy: the heuristic (learned asked, but no learned version is current: `spotdag learn show`)'
          : 'policy: the heuristic (no learned version is current)',
    };
  const { rankMix, tuning } = current.model.params;
  return {
    version: current.version,
    options: { rankMix, tuning },
    note: `policy: learned version ${current.version}`,
  };
}
