/**
 * The fleet workflow: one long-lived workflow per fleet, on the control queue, that admits jobs
 * and leases instances to them under their tenants' quotas (src/tenancy/ledger). Jobs talk to it
 * by signal; it answers each by signal. It survives worker and server restarts like any workflow
 * and continues as new as its history grows. Workflow code: deterministic, no I/O.
 */
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { pushAll } from '../src/util/array';
import { FleetLedger, type FleetMessage, type LedgerState } from '../src/tenancy/ledger';
import {
  admissionSignal,
  fleetAdmitSignal,
  fleetConfigureSignal,
  fleetLeaseSignal,
  fleetLeaveSignal,
  fleetReturnSignal,
  fleetUsageQuery,
  leaseGrantSignal,
  stopSignal,
  yieldSignal,
} from './fleet-messages';

export interface FleetRunOptions {
  /** Messages one run handles before it continues as new (besides Temporal's suggestion); 2,000. */
  eventsPerRun?: number;
}

export async function spotdagFleet(
  fleet: string,
  carried?: LedgerState | null,
  options: FleetRunOptions = {},
): Promise<never> {
  const ledger = new FleetLedger(carried ?? undefined);
  const eventsPerRun = options.eventsPerRun ?? 2_000;
  const outbox: FleetMessage[] = [];
  let events = 0;
  const handle = (messages: FleetMessage[]) => {
    events++;
    pushAll(outbox, messages);
  };
  setHandler(fleetAdmitSignal, (r) => handle(ledger.admit(r, Date.now())));
  setHandler(fleetLeaseSignal, (r) => handle(ledger.requestLeases(r.jobId, r.instances, Date.now())));
  setHandler(fleetReturnSignal, (r) => handle(ledger.returnLeases(r.jobId, r.planIds, Date.now())));
  setHandler(fleetLeaveSignal, (r) => handle(ledger.leave(r.jobId, Date.now())));
  setHandler(fleetConfigureSignal, (r) => handle(ledger.configure(r.tenants, r.limits, Date.now())));
  setHandler(fleetUsageQuery, () => ledger.usage(Date.now()));
  log.info('fleet running', { fleet, jobs: Object.keys(ledger.state.jobs).length });
  for (;;) {
    const wakeAt = ledger.nextWakeMs(Date.now());
    const due = () => outbox.length > 0 || events >= eventsPerRun || workflowInfo().continueAsNewSuggested;
    const woke = await (wakeAt === undefined
      ? condition(due).then(() => true)
      : condition(due, Math.max(1, wakeAt - Date.now())));
    if (!woke) pushAll(outbox, ledger.tick(Date.now())); // a spend quota within reach, or a new UTC day
    const gone = await Promise.all(outbox.splice(0).map(send));
    // A job that can no longer be told has ended without leaving (terminated): it holds nothing.
    for (const jobId of new Set(gone.filter((id) => id !== undefined))) {
      log.warn('a job ended without leaving the fleet; its leases are returned', { jobId });
      handle(ledger.leave(jobId, Date.now()));
    }
    if (outbox.length === 0 && (events >= eventsPerRun || workflowInfo().continueAsNewSuggested))
      return continueAsNew<typeof spotdagFleet>(fleet, ledger.state, options);
  }
}

/** Tells a job; returns its id when it has ended (nothing can reach it any more). */
async function send(message: FleetMessage): Promise<string | undefined> {
  const job = getExternalWorkflowHandle(message.to);
  try {
    if (message.kind === 'grant') await job.signal(leaseGrantSignal, { planIds: message.planIds });
    else if (message.kind === 'yield') await job.signal(yieldSignal, { count: message.count });
    else if (message.kind === 'stop') await job.signal(stopSignal, { reason: message.reason });
    else {
      const { to: _to, kind: _kind, ...answer } = message;
      await job.signal(admissionSignal, answer);
    }
    return undefined;
  } catch {
    return message.to;
  }
}
