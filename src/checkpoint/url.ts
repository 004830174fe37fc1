import { CheckpointStoreConfigError } from './errors';

/** Where a store lives, from its URL (docs/checkpoints.md). */
export type CheckpointStoreLocation =
  | { kind: 'sqlite'; file: string }
  | { kind: 'etcd'; secure: boolean; hosts: string[] }
  | { kind: 'consul'; secure: boolean; host: string; port: number };

const SCHEMES =
  'sqlite:<path>, sqlite::memory:, etcd://host:port[,host:port], etcds://…, consul://host:port, consuls://…';

/** The URL with any user-info removed, for error messages. */
function shown(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1***@');
}

function parseHostPort(text: string, defaultPort: number, url: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(text);
  const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
  if (!match || !(port > 0 && port < 65536))
    throw new CheckpointStoreConfigError(`checkpoint store URL ${shown(url)}: "${text}" is not host[:port]`);
  return { host: match[1]!, port };
}

export function parseCheckpointStoreUrl(url: string): CheckpointStoreLocation {
  if (url.startsWith('sqlite:')) {
    const rest = url.slice('sqlite:'.length);
    // `sqlite:///abs/path` and `sqlite://rel/path` as well as `sqlite:path`.
    const file = rest.startsWith('//') ? rest.slice(2) : rest;
    if (!file)
      throw new CheckpointStoreConfigError('checkpoint store URL sqlite: needs a file path or :memory:');
    return { kind: 'sqlite', file };
  }
  const scheme = /^([a-z]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme !== 'etcd' && scheme !== 'etcds' && scheme !== 'consul' && scheme !== 'consuls')
    throw new CheckpointStoreConfigError(`unknown checkpoint store URL ${shown(url)}; use one of ${SCHEMES}`);
  const authority = url.slice(scheme.length + 3).split(/[/?#]/)[0] ?? '';
  if (authority.includes('@'))
    throw new CheckpointStoreConfigError(
      `checkpoint store URL ${shown(url)}: credentials in the URL are not accepted; ` +
        'pass username/password or token in the options (or ETCD_USERNAME/ETCD_PASSWORD, CONSUL_HTTP_TOKEN)',
    );
  const secure = scheme.endsWith('s');
  if (scheme.startsWith('etcd')) {
    const members = authority.split(',').filter(Boolean);
    if (members.length === 0)
      throw new CheckpointStoreConfigError(`checkpoint store URL ${shown(url)} names no host`);
    const hosts = members.map((member) => {
      const { host, port } = parseHostPort(member, 2379, url);
      return `${secure ? 'https' : 'http'}://${host}:${port}`;
    });
    return { kind: 'etcd', secure, hosts };
  }
  const { host, port } = parseHostPort(authority, secure ? 8501 : 8500, url);
  return { kind: 'consul', secure, host: host.replace(/^\[|\]$/g, ''), port };
}
