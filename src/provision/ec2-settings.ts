import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { Ec2SettingsError } from './ec2-errors';
import { MAX_INSTANCE_READY_SECONDS, PROVIDER_TIMEOUTS } from './provider';

/** The compiled instance worker of a global `npm install -g spotdag` on the instance's image. */
export const DEFAULT_WORKER_COMMAND = 'node "$(npm root -g)/spotdag/dist/workers/instance-worker.js"';

const positive = z.number().positive().finite();

/** How an instance starts its worker (rendered into user data; see ec2-user-data.ts). */
export const ec2WorkerSchema = z
  .object({
    /** Temporal frontend the instance connects to (host:port). */
    temporalAddress: z.string().min(1),
    namespace: z.string().min(1).default('default'),
    /** Step modules the worker loads (SPOTDAG_STEPS), paths on the image. */
    steps: z.array(z.string().min(1)).default([]),
    /** Shell lines run before the worker starts (install Node and spotdag, fetch step code, …). */
    setup: z.array(z.string()).default([]),
    /** The instance worker program; receives --instance-id, --task-queue, --slots, --metadata-*. */
    command: z.string().min(1).default(DEFAULT_WORKER_COMMAND),
    metadataPollMs: z.number().int().positive().default(5_000),
    /** SPOTDAG_CHECKPOINT_STORE of the instances (`etcd://…`, `consul://…`); none: no checkpoints. */
    checkpointStore: z.string().min(1).optional(),
    /** SPOTDAG_ARTIFACT_STORE of the instances (`s3://bucket/prefix`): command steps' files, large values. */
    artifactStore: z.string().min(1).optional(),
  })
  .strict();

/** How long to wait for EC2 instances (docs/ec2.md); defaults: PROVIDER_TIMEOUTS.ec2. */
export const ec2TimeoutsSchema = z
  .object({
    /** From launch to the instance's worker polling its queue (boot, setup, connect). */
    instanceReadySeconds: z
      .number()
      .int()
      .min(30)
      .max(MAX_INSTANCE_READY_SECONDS)
      .default(PROVIDER_TIMEOUTS.ec2.instanceReadySeconds),
    /** A sub-task not picked up by its instance within this long presumes the instance lost. */
    scheduleToStartSeconds: z.number().int().min(30).default(PROVIDER_TIMEOUTS.ec2.scheduleToStartSeconds),
    /**
     * How often the control worker reads its instances' states (one DescribeInstances by tag for
     * all jobs): an instance that stops running without spotdag releasing it is reported lost.
     */
    instanceStatePollSeconds: z.number().min(1).max(300).default(15),
  })
  .strict();

export const ec2SettingsSchema = z
  .object({
    region: z.string().min(1),
    /** Another EC2 endpoint (moto in tests); default: the region's. */
    endpoint: z.string().url().optional(),
    /** Subnets instances may launch in, with their availability zones (one override per type × subnet). */
    subnets: z.array(z.object({ subnetId: z.string().min(1), zone: z.string().min(1) }).strict()).min(1),
    /**
     * An existing launch template used as is: it must start the instance worker itself
     * (`spotdag ec2 user-data` prints the script) and carry the security groups.
     */
    launchTemplate: z
      .object({
        id: z.string().min(1).optional(),
        name: z.string().min(1).optional(),
        version: z.string().min(1).default('$Default'),
      })
      .strict()
      .optional(),
    /** Or: spotdag creates and owns a launch template from an image, security groups and `worker`. */
    image: z
      .object({
        imageId: z.string().min(1),
        securityGroupIds: z.array(z.string().min(1)).default([]),
        /** Instance profile name or ARN (the worker needs no AWS permissions of its own). */
        iamInstanceProfile: z.string().min(1).optional(),
        keyName: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    worker: ec2WorkerSchema.optional(),
    allocationStrategy: z
      .enum(['capacity-optimized-prioritized', 'price-capacity-optimized'])
      .default('price-capacity-optimized'),
    /** Launch on-demand when spot capacity is refused. */
    onDemandFallback: z.boolean().default(true),
    /** For plans whose pool names no instance type (e.g. the local round-robin allocator's). */
    defaultInstanceType: z.string().min(1).optional(),
    /**
     * Instance types `spotdag run --provider ec2` plans on, in every subnet's zone; default
     * `defaultInstanceType` and the types of `onDemandPricesPerHour`.
     */
    instanceTypes: z.array(z.string().min(1)).min(1).optional(),
    /** AWS Spot Advisor data (spot-advisor-data.json): interruption-rate priors per instance type. */
    spotAdvisorFile: z.string().min(1).optional(),
    /** Spot MaxPrice when a plan carries none (never above the on-demand price when known). */
    maxSpotPricePerHour: positive.optional(),
    /** On-demand $/h by instance type in `region`: the price bound of on-demand launches. */
    onDemandPricesPerHour: z.record(z.string(), positive).default({}),
    /** Hard caps per job; see docs/ec2.md ("How spend is bounded"). */
    limits: z
      .object({
        /** Instances of one job running at once. */
        maxInstances: z.number().int().min(1),
        /** Worst-case spend of one job over all its launches, replacements included. */
        maxSpendUsd: positive,
        /** Lifetime of an instance: it shuts itself down (and terminates) before this. */
        maxInstanceHours: positive.max(24 * 7),
      })
      .strict(),
    /** Attempts per EC2 call, with the SDK's exponential backoff on throttling (RequestLimitExceeded). */
    maxAttempts: z.number().int().min(1).max(20).default(8),
    timeouts: ec2TimeoutsSchema.prefault({}),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.launchTemplate === undefined) === (s.image === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['launchTemplate'],
        message: 'give exactly one of launchTemplate or image',
      });
    if (s.launchTemplate && !s.launchTemplate.id === !s.launchTemplate.name)
      ctx.addIssue({ code: 'custom', path: ['launchTemplate'], message: 'give exactly one of id or name' });
    if (s.image && !s.worker)
      ctx.addIssue({
        code: 'custom',
        path: ['worker'],
        message: 'required with image (it becomes the user data)',
      });
  });

export type Ec2Settings = z.output<typeof ec2SettingsSchema>;
export type Ec2SettingsInput = z.input<typeof ec2SettingsSchema>;
export type Ec2WorkerSettings = z.output<typeof ec2WorkerSchema>;

/** The instance types the market view plans on: `instanceTypes`, else the types the settings price. */
export function plannedInstanceTypes(settings: Ec2Settings): string[] {
  if (settings.instanceTypes) return [...new Set(settings.instanceTypes)];
  const types = [
    ...(settings.defaultInstanceType ? [settings.defaultInstanceType] : []),
    ...Object.keys(settings.onDemandPricesPerHour),
  ];
  if (types.length === 0)
    throw new Ec2SettingsError(
      'instanceTypes: none to plan on; list them, or give defaultInstanceType or onDemandPricesPerHour',
    );
  return [...new Set(types)];
}

/** Validates settings; every problem is listed with its path. */
export function parseEc2Settings(input: unknown, source = 'EC2 settings'): Ec2Settings {
  const result = ec2SettingsSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new Ec2SettingsError(`${source}: ${problems.join('; ')}`);
}

/** Reads and validates a settings file; `spotAdvisorFile` is relative to the file's folder. */
export function loadEc2Settings(file: string): Ec2Settings {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Ec2SettingsError(`${file}: ${(err as Error).message}`);
  }
  const settings = parseEc2Settings(raw, file);
  if (settings.spotAdvisorFile)
    settings.spotAdvisorFile = path.resolve(path.dirname(file), settings.spotAdvisorFile);
  return settings;
}
