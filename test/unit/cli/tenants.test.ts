import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { registerTenants } from '../../../cli/commands/tenants';

/** Runs `spotdag tenants …` as the CLI does (no Temporal server: the settings are only stored). */
async function tenants(args: string[]): Promise<string[]> {
  const program = new Command('spotdag').exitOverride();
  registerTenants(program);
  const printed: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
  try {
    await program.parseAsync(['node', 'spotdag', 'tenants', ...args]);
  } finally {
    log.mockRestore();
  }
  return printed;
}

describe('spotdag tenants', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-tenants-'));
  const store = ['--checkpoint-store', `sqlite:${path.join(dir, 'checkpoints.db')}`];
  const home = process.env.SPOTDAG_HOME;
  beforeAll(() => (process.env.SPOTDAG_HOME = dir)); // no server.json: nothing to tell
  afterAll(() => (process.env.SPOTDAG_HOME = home));

  it('sets, changes, lists and removes tenants in the checkpoint store', async () => {
    await tenants(['set', 'research', '--weight', '2', '--max-instances', '8', ...store]);
    await tenants(['set', 'research', '--max-spend-per-day', '50', '--fleet-max-instances', '16', ...store]);
    await tenants(['set', 'interns', '--priority', '5', '--max-jobs', '1', '--on-quota', 'reject', ...store]);
    const listed = JSON.parse((await tenants(['list', '--json', ...store]))[0]!);
    expect(listed).toEqual({
      tenants: [
        {
          name: 'research',
          priority: 3,
          weight: 2,
          quotas: { maxInstances: 8, maxSpendPerDayUsd: 50 },
          onQuota: 'queue',
        },
        { name: 'interns', priority: 5, weight: 1, quotas: { maxConcurrentJobs: 1 }, onQuota: 'reject' },
      ],
      fleet: { maxInstances: 16 },
    });
    await tenants(['remove', 'interns', ...store]);
    expect(JSON.parse((await tenants(['list', '--json', ...store]))[0]!).tenants).toHaveLength(1);
    await expect(tenants(['remove', 'nobody', ...store])).rejects.toThrow('no tenant nobody is configured');
  });

  it('names the bad field of a tenant or a settings file', async () => {
    await expect(tenants(['set', 'x', '--priority', '9', ...store])).rejects.toThrow(
      'invalid tenant x: priority: Too big: expected number to be <=5',
    );
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ tenants: [{ name: 'a', weight: 0 }], fleet: { maxJobs: 1 } }));
    await expect(tenants(['set', '--file', file, ...store])).rejects.toThrow(
      /tenants\.0\.weight: Too small[\s\S]*fleet: Unrecognized key: "maxJobs"/,
    );
  });

  it('turns the shared fleet on and off, with its slots and warm time', async () => {
    const shared = ['--fleet-shared', '--fleet-slots-per-instance', '8', '--fleet-warm-seconds', '30'];
    await tenants(['set', ...shared, ...store]);
    const fleet = async () => JSON.parse((await tenants(['list', '--json', ...store]))[0]!).fleet;
    expect(await fleet()).toMatchObject({ shared: true, slotsPerInstance: 8, warmSeconds: 30 });
    await tenants(['set', '--no-fleet-shared', ...store]);
    expect(await fleet()).toMatchObject({ shared: false, slotsPerInstance: 8 });
    const file = path.join(dir, 'bad-fleet.json');
    writeFileSync(file, JSON.stringify({ tenants: [], fleet: { shared: 'yes', slotsPerInstance: 0 } }));
    await expect(tenants(['set', '--file', file, ...store])).rejects.toThrow(
      /fleet\.shared: Invalid input: expected boolean[\s\S]*fleet\.slotsPerInstance: Too small/,
    );
  });
});
