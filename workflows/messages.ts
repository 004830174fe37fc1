/**
 * Messages between the job workflow and its sub-task children under the runtime controller:
 * a child tells its parent that its instance is lost, the parent tells a child where to go next
 * (or to stop and wait, when the controller cuts or moves its work). Workflow code.
 */
import { defineSignal } from '@temporalio/workflow';
import type { DocumentRef } from '../src/checkpoint/types';
import type { InstanceRef, PlannedSubTask, Relocation, SubTaskBrief } from '../src/job/types';

/** A child's report that the instance its work was on is lost. */
export interface LostReport {
  subTaskId: string;
  /** The provider's instance id. */
  instanceId: string;
  reason: Relocation['reason'];
  /** How far the lost attempt had got and what its last checkpoint kept (fractions), when it said. */
  progress?: number;
  checkpointProgress?: number;
  atMs: number;
}

/** The parent's order to a child: go to `instance` (with a new definition after a cut), or stop and wait. */
export interface MoveOrder {
  /** Increases with every order to the same child; older orders are ignored. */
  generation: number;
  instance?: InstanceRef;
  /** The definition to run from now on (after a cut), inline or by reference. */
  subTask?: PlannedSubTask | SubTaskBrief;
  job?: DocumentRef;
  reason: Relocation['reason'];
  /** When the instance the work was on died, when its provider said (lost work runs up to it). */
  diedAtMs?: number;
}

/** The provider's report that an instance died (its process exited, a spot interruption took it). */
export interface InstanceLostReport {
  /** The provider's instance id. */
  instanceId: string;
  reason: 'exited' | 'interrupted' | 'suspended' | 'impaired' | 'no-poller';
  atMs: number;
}

export const subTaskLostSignal = defineSignal<[LostReport]>('spotdagSubTaskLost');
export const instanceLostSignal = defineSignal<[InstanceLostReport]>('spotdagInstanceLost');
export const subTaskMoveSignal = defineSignal<[MoveOrder]>('spotdagSubTaskMove');
