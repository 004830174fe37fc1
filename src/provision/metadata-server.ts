import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

/**
 * An instance metadata endpoint served the way EC2 serves it (IMDSv2), on loopback, one per local
 * instance: `PUT /latest/api/token` issues a session token; `GET /latest/meta-data/...` needs it.
 * The interruption simulator posts spot notices here, and the instance's watcher polls them —
 * the same watcher that polls 169.254.169.254 on a real EC2 instance.
 */
export class LocalMetadataServer {
  private server?: Server;
  private readonly tokens = new Map<string, number>();
  private instanceAction?: { action: 'terminate' | 'stop' | 'hibernate'; time: string };
  private rebalance?: { noticeTime: string };

  constructor(private readonly instance: { instanceId: string; instanceType: string; zone: string }) {}

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (req.method === 'PUT' && url === '/latest/api/token') {
        const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
        if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) {
          res.writeHead(400).end();
          return;
        }
        const token = randomBytes(24).toString('base64url');
        this.tokens.set(token, Date.now() + ttl * 1000);
        res.writeHead(200, { 'content-type': 'text/plain' }).end(token);
        return;
      }
      const token = req.headers['x-aws-ec2-metadata-token'];
      const expires = typeof token === 'string' ? this.tokens.get(token) : undefined;
      if (req.method !== 'GET') {
        res.writeHead(405).end();
        return;
      }
      if (!expires || expires < Date.now()) {
        res.writeHead(401).end();
        return;
      }
      const body = this.lookup(url);
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return this.endpoint;
  }

  get endpoint(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('metadata server is not running');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Posts a spot interruption notice: the instance is reclaimed at `at` (AWS gives 2 minutes). */
  noticeInterruption(at: Date, action: 'terminate' | 'stop' | 'hibernate' = 'terminate'): void {
    this.instanceAction = { action, time: at.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  noticeRebalance(at: Date = new Date()): void {
    this.rebalance = { noticeTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private lookup(url: string): string | undefined {
    switch (url) {
      case '/latest/meta-data/instance-id':
        return this.instance.instanceId;
      case '/latest/meta-data/instance-type':
        return this.instance.instanceType;
      case '/latest/meta-data/placement/availability-zone':
        return this.instance.zone;
      case '/latest/meta-data/spot/instance-action':
        return this.instanceAction && JSON.stringify(this.instanceAction);
      case '/latest/meta-data/events/recommendations/rebalance':
        return this.rebalance && JSON.stringify(this.rebalance);
      default:
        return undefined;
    }
  }
}
