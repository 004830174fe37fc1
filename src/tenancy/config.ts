/**
 * Tenant settings: validated (errors name the field), kept in the checkpoint store as one record
 * (`tenants`, compare-and-swap), and resolved into a job's tenancy when it is decomposed.
 */
import { z } from 'zod';
import type { CheckpointStore } from '../checkpoint/types';
import { JobSpecError } from '../dag/errors';
import {
  DEFAULT_FLEET_NAME,
  DEFAULT_TENANT,
  DEFAULT_TENANT_NAME,
  PRIORITY_MAX,
  PRIORITY_MIN,
  type FleetLimits,
  type JobTenancy,
  type TenancyConfig,
  type Tenant,
} from './types';

const positiveInt = z.int().positive();
const usd = z.number().positive();

export const tenantNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a tenant name is 1–64 letters, digits, `_`, `.` or `-`');

export const prioritySchema = z.int().min(PRIORITY_MIN).max(PRIORITY_MAX);

export const tenantSchema = z.strictObject({
  name: tenantNameSchema,
  priority: prioritySchema.default(DEFAULT_TENANT.priority),
  weight: z.number().min(0.001).max(1000).default(1),
  quotas: z
    .strictObject({
      maxInstances: positiveInt.optional(),
      maxConcurrentJobs: positiveInt.optional(),
      maxSpendPerJobUsd: usd.optional(),
      maxSpendPerDayUsd: usd.optional(),
    })
    .prefault({}),
  onQuota: z.enum(['queue', 'reject']).default('queue'),
});

export const fleetLimitsSchema = z.strictObject({
  maxInstances: positiveInt.optional(),
  maxConcurrentJobs: positiveInt.optional(),
  drainSeconds: z.number().positive().optional(),
  shared: z.boolean().optional(),
  slotsPerInstance: positiveInt.optional(),
  warmSeconds: z.number().min(0).optional(),
});

export const tenancyConfigSchema = z
  .strictObject({
    tenants: z.array(tenantSchema),
    fleet: fleetLimitsSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.tenants.forEach((t, i) => {
      if (seen.has(t.name))
        ctx.addIssue({
          code: 'custom',
          path: ['tenants', i, 'name'],
          message: `tenant ${t.name} appears twice`,
        });
      seen.add(t.name);
    });
  });

/** Parses tenant settings; throws a JobSpecError naming every bad field. */
export function parseTenancyConfig(input: unknown): TenancyConfig {
  const result = tenancyConfigSchema.safeParse(input);
  if (result.success) return result.data;
  throw new JobSpecError(
    result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    'invalid tenant settings',
  );
}

/** Parses one tenant (for `spotdag tenants set NAME --…`). */
export function parseTenant(input: unknown): Tenant {
  const result = tenantSchema.safeParse(input);
  if (result.success) return result.data;
  throw new JobSpecError(
    result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    `invalid tenant ${(input as { name?: unknown }).name ?? ''}`.trimEnd(),
  );
}

export const TENANTS_RECORD = 'tenants';

export async function readTenancyConfig(store: CheckpointStore): Promise<TenancyConfig | undefined> {
  const entry = await store.readRecord(TENANTS_RECORD);
  return entry && parseTenancyConfig(JSON.parse(entry.bytes.toString('utf8')));
}

/**
 * Changes the stored settings with `change`, retrying when someone else wrote in between.
 * Returns what was stored.
 */
export async function updateTenancyConfig(
  store: CheckpointStore,
  change: (current: TenancyConfig) => TenancyConfig,
): Promise<TenancyConfig> {
  for (;;) {
    const entry = await store.readRecord(TENANTS_RECORD);
    const current = entry
      ? parseTenancyConfig(JSON.parse(entry.bytes.toString('utf8')))
      : { tenants: [], fleet: {} };
    const next = parseTenancyConfig(change(current));
    const bytes = Buffer.from(JSON.stringify(next));
    if (await store.writeRecord(TENANTS_RECORD, bytes, entry?.version)) return next;
  }
}

/** The unknown tenant a job named. */
export class UnknownTenantError extends JobSpecError {
  constructor(name: string, known: string[]) {
    super([
      {
        path: 'tenant',
        message:
          `tenant ${name} is not configured` +
          (known.length > 0 ? ` (configured: ${known.join(', ')})` : ' (no tenants are configured)') +
          `; add it with \`spotdag tenants set ${name}\``,
      },
    ]);
  }
}

/**
 * A job's tenancy from its spec's `tenant` and `priority` and the stored settings. No tenants or
 * fleet limits configured and none named: none (the job runs on its own, as before tenants).
 */
export function resolveTenancy(
  config: TenancyConfig | undefined,
  tenantName: string | undefined,
  priority: number | undefined,
): JobTenancy | undefined {
  const configured =
    config !== undefined &&
    (config.tenants.length > 0 || Object.values(config.fleet).some((v) => v !== undefined));
  if (
    !configured &&
    (tenantName === undefined || tenantName === DEFAULT_TENANT_NAME) &&
    priority === undefined
  )
    return undefined;
  const name = tenantName ?? DEFAULT_TENANT_NAME;
  const tenants = config?.tenants ?? [];
  const tenant =
    tenants.find((t) => t.name === name) ?? (name === DEFAULT_TENANT_NAME ? DEFAULT_TENANT : undefined);
  if (!tenant)
    throw new UnknownTenantError(
      name,
      tenants.map((t) => t.name),
    );
  const limits: FleetLimits = config?.fleet ?? {};
  return { fleet: DEFAULT_FLEET_NAME, tenant, priority: priority ?? tenant.priority, limits };
}

/** The most instances a job of this tenancy may plan at once: its spec's, within the quotas. */
export function instancesWithin(wanted: number, tenancy: JobTenancy): number {
  return Math.min(
    wanted,
    tenancy.tenant.quotas.maxInstances ?? Infinity,
    tenancy.limits.maxInstances ?? Infinity,
  );
}
