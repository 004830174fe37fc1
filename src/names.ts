/**
 * Names shared by the client, the workers and the workflows. Pure constants: workflow code may
 * import this module.
 */

/** The durable task queue of the control worker: parent and child workflows, planning activities. */
export const CONTROL_TASK_QUEUE = 'spotdag-control';

/** Each instance polls its own task queue, so work can be pinned to it. */
export function instanceTaskQueue(instanceId: string): string {
  return `spotdag-i-${instanceId}`;
}

/** Search attributes spotdag sets on job workflows (registered on the dev server at start). */
export const SEARCH_ATTRIBUTES = {
  SpotdagJobId: 'Keyword',
  SpotdagPhase: 'Keyword',
  SpotdagCostUsd: 'Double',
} as const;

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;
