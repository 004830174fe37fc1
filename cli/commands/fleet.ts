import type { Command } from 'commander';
import { LocalProvisioner } from '../../src/provision/local';
import { stateDir } from '../state';

export function registerFleet(program: Command): void {
  program
    .command('fleet')
    .description('list the local instances (worker processes) spotdag started, or stop them')
    .option('--job <workflowId>', 'only this job')
    .option('--stop', 'stop them (SIGTERM, then SIGKILL)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  spotdag fleet\n  spotdag fleet --job primes-1e9-mx0hntln --stop')
    .action(async (opts: { job?: string; stop?: boolean; json?: boolean }) => {
      const provisioner = new LocalProvisioner({ stateDir: stateDir(), metadataEndpoints: false });
      const instances = await provisioner.list(opts.job);
      if (opts.stop) await Promise.all(instances.map((i) => provisioner.stop(i.id)));
      if (opts.json) {
        console.log(JSON.stringify({ instances, stopped: opts.stop === true }));
        return;
      }
      if (instances.length === 0) console.log('No local instances are running.');
      for (const i of instances)
        console.log(`${i.id}  ${i.taskQueue}  ${i.handle}${opts.stop ? '  stopped' : ''}`);
    });
}
