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
  fleetLostSignal,
  fleetReturnSignal,
  fleetUsageQuery,
  leaseGrantSignal,
  stopSignal,
  yieldSignal,
} from './fleet-messages';
import { SharedFleetPool, type SharedPoolState } from './fleet-pool';
import { instanceLostSignal } from './messages';

export interface FleetRunOptions {
  /** Messages one run handles before it continues as new (besides Temporal's suggestion); 2,000. */
  eventsPerRun?: number;
}

export async function spotdagFleet(
  fleet: string,
  carried?: LedgerState | null,
  options: FleetRunOptions = {},
  carriedPool?: SharedPoolState,
): Promise<never> {
  const ledger = new FleetLedger(carried ?? undefined);
  const eventsPerRun = options.eventsPerRun ?? 2_000;
  const outbox: FleetMessage[] = [];
  let events = 0;
  // On a shared fleet the ledger's grants are placed on the fleet's own instances first.
  const pool = new SharedFleetPool(
    workflowInfo().workflowId,
    ledger,
    (messages) => pushAll(outbox, messages),
    carriedPool,
  );
  const handle = (messages: FleetMessage[]) => {
    events++;
    pushAll(outbox, pool.route(messages));
  };
  const leave = (jobId: string) => {
    // On a shared fleet a lease on a lost instance goes back only once the instance is gone.
    const { now, waits } = pool.leave(jobId);
    handle(waits ? ledger.returnLeases(jobId, now, Date.now()) : ledger.leave(jobId, Date.now()));
  };
  setHandler(fleetAdmitSignal, (r) => handle(ledger.admit(r, Date.now())));
  setHandler(fleetLeaseSignal, (r) => {
    pool.want(r.jobId, r.instances);
    handle(ledger.requestLeases(r.jobId, r.instances, Date.now()));
  });
  setHandler(fleetReturnSignal, (r) =>
    handle(ledger.returnLeases(r.jobId, pool.giveBack(r.jobId, r.planIds), Date.now())),
  );
  setHandler(fleetLostSignal, (r) =>
    handle(
      ledger.returnLeases(r.jobId, pool.jobSawLost(r.jobId, r.planId, r.instanceId, r.reason), Date.now()),
    ),
  );
  setHandler(instanceLostSignal, (report) => pool.providerSawLost(report));
  setHandler(fleetLeaveSignal, (r) => leave(r.jobId));
  setHandler(fleetConfigureSignal, (r) => handle(ledger.configure(r.tenants, r.limits, Date.now())));
  setHandler(fleetUsageQuery, () => {
    const instances = pool.instances();
    return { ...ledger.usage(Date.now()), ...(instances.length > 0 ? { sharedInstances: instances } : {}) };
  });
  log.info('fleet running', { fleet, jobs: Object.keys(ledger.state.jobs).length });
  for (;;) {
    const ledgerWakeAt = ledger.nextWakeMs(Date.now());
    const poolWakeAt = pool.nextWakeMs();
    const wakeAt = ledgerWakeAt === undefined ? poolWakeAt : Math.min(ledgerWakeAt, poolWakeAt ?? Infinity);
    const wantsNewRun = () => events >= eventsPerRun || workflowInfo().continueAsNewSuggested;
    // A shared instance freed or taken meanwhile moves the pool's next wake-up: look again.
    const due = () => outbox.length > 0 || (wantsNewRun() && !pool.busy) || pool.nextWakeMs() !== poolWakeAt;
    const woke = await (wakeAt === undefined
      ? condition(due).then(() => true)
      : condition(due, Math.max(1, wakeAt - Date.now())));
    if (!woke) {
      pushAll(outbox, pool.route(ledger.tick(Date.now()))); // a spend quota within reach, or a new UTC day
      pool.expire(Date.now()); // warm instances whose time is up
    }
    const gone = await Promise.all(outbox.splice(0).map(send));
    // A job that can no longer be told has ended without leaving (terminated): it holds nothing.
    for (const jobId of new Set(gone.filter((id) => id !== undefined))) {
      log.warn('a job ended without leaving the fleet; its leases are returned', { jobId });
      leave(jobId);
    }
    if (outbox.length === 0 && wantsNewRun() && !pool.busy)
      return pool.inUse
        ? continueAsNew<typeof spotdagFleet>(fleet, ledger.state, options, pool.carried)
        : continueAsNew<typeof spotdagFleet>(fleet, ledger.state, options);
  }
}

/** Tells a job; returns its id when it has ended (nothing can reach it any more). */
async function send(message: FleetMessage): Promise<string | undefined> {
  const job = getExternalWorkflowHandle(message.to);
  try {
    if (message.kind === 'grant') {
      const { to: _to, kind: _kind, ...grant } = message;
      await job.signal(leaseGrantSignal, grant);
    } else if (message.kind === 'yield') await job.signal(yieldSignal, { count: message.count });
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
