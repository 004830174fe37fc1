import type { Command } from 'commander';
import { ensureLocalServer, stopLocalServer } from '../../workers/dev-server';
import { stateDir } from '../state';

export function registerServer(program: Command): void {
  const server = program
    .command('server')
    .description('the local Temporal dev server spotdag starts when TEMPORAL_ADDRESS is unset');
  server
    .command('start')
    .description('start it (or find it running); history persists in .spotdag/temporal.db')
    .addHelpText('after', '\nExample:\n  spotdag server start --json')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const s = await ensureLocalServer(stateDir(), { log: (l) => process.stderr.write(`${l}\n`) });
      const info = { address: s.address, uiUrl: s.uiUrl, pid: s.pid, reused: s.reused };
      if (opts.json) console.log(JSON.stringify(info));
      else
        console.log(
          `Temporal dev server ${s.reused ? 'already running' : 'started'} at ${s.address}; UI ${s.uiUrl}`,
        );
    });
  server
    .command('stop')
    .description('stop it')
    .addHelpText('after', '\nExample:\n  spotdag server stop')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const stopped = await stopLocalServer(stateDir());
      if (opts.json) console.log(JSON.stringify({ stopped }));
      else console.log(stopped ? 'Temporal dev server stopped.' : 'No spotdag dev server was running.');
    });
}
