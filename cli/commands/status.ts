import type { Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { JobProgress } from '../../src/job/summary';
import { progressQuery } from '../../workflows';
import { connectClient } from '../client';
import { EXIT } from '../errors';
import { workflowUiUrl } from '../state';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("a job's status and progress")
    .argument('<workflowId>', 'the job (its workflow id)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 found, 1 not found, 3 no Temporal server.\n\nExample:\n  spotdag status primes-1e9-mx0hntln',
    )
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      const { client, uiUrl, close } = await connectClient();
      try {
        const handle = client.workflow.getHandle(workflowId);
        const description = await handle.describe();
        let progress: JobProgress | undefined;
        try {
          progress = await handle.query(progressQuery);
        } catch {
          // Closed long ago (no worker to answer) or not a spotdag job: status alone then.
        }
        const ui = uiUrl ? workflowUiUrl(uiUrl, client.options.namespace, workflowId) : undefined;
        const status = description.status.name;
        if (opts.json) {
          console.log(
            JSON.stringify({
              workflowId,
              status,
              startTime: description.startTime,
              closeTime: description.closeTime,
              progress,
              uiUrl: ui,
            }),
          );
          return;
        }
        console.log(`${workflowId}: ${status}`);
        if (progress) {
          console.log(
            `  phase ${progress.phase}; ${progress.done}/${progress.total} sub-tasks done, ${progress.running} running`,
          );
          if (progress.tenant !== undefined)
            console.log(`  tenant ${progress.tenant}, priority ${progress.priority ?? 3}`);
          if (progress.phase === 'queued' && progress.queuePosition !== undefined)
            console.log(
              `  queued: position ${progress.queuePosition} (${progress.queueReason ?? 'waiting'})`,
            );
          for (const s of progress.stages) console.log(`  ${s.stage}: ${s.done}/${s.total}`);
          console.log(
            `  interruptions ${progress.interruptions}; cost $${progress.costSoFarUsd.toFixed(4)} of planned $${progress.plannedCostUsd.toFixed(4)}`,
          );
        }
        if (ui) console.log(`  ${ui}`);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          console.error(`spotdag: no job ${workflowId}`);
          process.exitCode = EXIT.failed;
          return;
        }
        throw err;
      } finally {
        await close();
      }
    });
}

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('cancel a job; its instances are released')
    .argument('<workflowId>', 'the job (its workflow id)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  spotdag cancel primes-1e9-mx0hntln')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      const { client, close } = await connectClient();
      try {
        await client.workflow.getHandle(workflowId).cancel();
        if (opts.json) console.log(JSON.stringify({ workflowId, cancelRequested: true }));
        else console.log(`Cancellation requested for ${workflowId}.`);
      } finally {
        await close();
      }
    });
}
