import { parseTenancyConfig, resolveTenancy } from '../../../src/tenancy/config';
import { DEFAULT_TENANT } from '../../../src/tenancy/types';

describe('tenant settings', () => {
  it('fills defaults', () => {
    expect(parseTenancyConfig({ tenants: [{ name: 'research' }] })).toEqual({
      tenants: [{ name: 'research', priority: 3, weight: 1, quotas: {}, onQuota: 'queue' }],
      fleet: {},
    });
  });

  it('names every bad field', () => {
    expect(() =>
      parseTenancyConfig({
        tenants: [
          { name: 'a', priority: 9, quotas: { maxInstances: 0 } },
          { name: 'a', weight: -1 },
        ],
        fleet: { maxJobs: 2 },
      }),
    ).toThrow(
      /tenants\.0\.priority[\s\S]*tenants\.0\.quotas\.maxInstances[\s\S]*tenants\.1\.weight[\s\S]*fleet[\s\S]*maxJobs/,
    );
    expect(() => parseTenancyConfig({ tenants: [{ name: 'a' }, { name: 'a' }] })).toThrow(
      'tenants.1.name: tenant a appears twice',
    );
  });

  it("resolves a job's tenancy: none without settings, its spec's priority over the tenant's", () => {
    expect(resolveTenancy(undefined, undefined, undefined)).toBeUndefined();
    expect(resolveTenancy(undefined, 'default', 2)).toMatchObject({ tenant: DEFAULT_TENANT, priority: 2 });
    const config = parseTenancyConfig({
      tenants: [{ name: 'ops', priority: 2 }],
      fleet: { maxInstances: 4 },
    });
    expect(resolveTenancy(config, 'ops', undefined)).toMatchObject({
      fleet: 'default',
      priority: 2,
      limits: { maxInstances: 4 },
    });
    expect(resolveTenancy(config, undefined, undefined)).toMatchObject({ tenant: DEFAULT_TENANT });
    expect(() => resolveTenancy(config, 'nobody', undefined)).toThrow(
      'tenant: tenant nobody is not configured (configured: ops); add it with `spotdag tenants set nobody`',
    );
  });
});
