import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureLocalServer, stopLocalServer } from '../../workers/dev-server';

/** Holds 127.0.0.1:`port` (when free) until closed, as another state folder's server would. */
async function hold(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined)); // already held by something else: as good
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('the local dev server of a state folder', () => {
  it('never answers on a port another server holds: it moves to a free one, or names the port asked for', async () => {
    const held = await Promise.all([hold(7233), hold(8233)]);
    const stateDir = mkdtempSync(path.join(tmpdir(), 'spotdag-server-'));
    try {
      await expect(ensureLocalServer(stateDir, { port: 7233 })).rejects.toThrow(/port 7233 is in use/);
      const lines: string[] = [];
      const server = await ensureLocalServer(stateDir, { log: (line) => lines.push(line) });
      expect(server.reused).toBe(false);
      expect(server.address).not.toBe('127.0.0.1:7233');
      expect(lines.some((l) => /port 7233 is in use/.test(l))).toBe(true);
      // The same folder finds its own server again.
      const again = await ensureLocalServer(stateDir);
      expect(again).toMatchObject({ reused: true, address: server.address });
    } finally {
      await stopLocalServer(stateDir);
      for (const s of held) s?.close();
    }
  });
});
