import { execFileSync } from 'node:child_process';
import path from 'node:path';

const COMPOSE_FILE = path.resolve(__dirname, '../../temporal-compose.yml');

/**
 * No Docker engine runs here, but the compose client validates the file (DOCKER_COMPOSE, which the
 * global setup finds or installs from PyPI).
 */
describe('temporal-compose.yml', () => {
  const compose = (args: string[]) =>
    execFileSync(process.env.DOCKER_COMPOSE ?? 'docker-compose', ['-f', COMPOSE_FILE, ...args], {
      encoding: 'utf8',
    });

  it('is a valid compose file with the Temporal stack, etcd, Consul and the control worker', () => {
    const services = compose(['config', '--services']).trim().split('\n');
    expect(services).toEqual(
      expect.arrayContaining([
        'postgresql',
        'temporal',
        'temporal-admin-tools',
        'temporal-ui',
        'etcd',
        'consul',
        'spotdag-control-worker',
      ]),
    );
  });

  it('puts Consul behind an optional profile', () => {
    expect(compose(['config'])).toMatch(/consul:[\s\S]*?profiles:\s*\n\s*- consul/);
  });
});
