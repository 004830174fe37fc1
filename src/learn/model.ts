/**
 * A learned policy model: the controller's parameters (src/learn/policy-space.ts) and how they were
 * learned (data, seed, training curve). Plain JSON, validated on read with errors that name the
 * field.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { JobSpecError } from '../dag/errors';
import { parseJsonText } from '../dag/spec';
import { SAFE_FLOOR } from '../controller/tuning';
import type { PolicyParams } from './policy-space';

export const MODEL_FORMAT = 'spotdag-policy/1';

const positive = z.number().positive();
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const paramsSchema = z.strictObject({
  rankMix: z.strictObject({
    cost: positive,
    seconds: positive,
    transfer: positive,
    teleport: z.number().min(0).max(1),
    damping: z.number().gt(0).lt(1),
  }),
  tuning: z.strictObject({
    waitAheadRestarts: finite,
    backToSpotRestarts: z.number().min(0),
    guardMarginScale: z.number().min(SAFE_FLOOR.guardMarginScale),
    releaseMargins: z.number().min(SAFE_FLOOR.releaseMargins),
    penaltySeconds: z.number().min(0),
  }),
});

const curvePointSchema = z.strictObject({
  generation: z.int().min(1),
  evaluations: z.int().min(1),
  offspringBest: z.number(),
  best: z.number(),
  sigma: z.number(),
  improved: z.boolean(),
});

export const policyModelSchema = z.strictObject({
  format: z.literal(MODEL_FORMAT),
  params: paramsSchema,
  training: z.strictObject({
    seed: z.int(),
    generations: z.int().min(0),
    population: z.int().min(1),
    workflows: z.array(z.string()),
    traceGroups: z.array(z.string()),
    prices: z.string(),
    scenarios: z.int().min(0),
    /** Training score of the heuristic (the start) and of the model: mean cost ÷ on-demand, +1 per missed deadline. */
    heuristicScore: z.number(),
    score: z.number(),
    curve: z.array(curvePointSchema),
    elapsedSeconds: z.number().min(0),
  }),
  createdAt: z.string(),
});

export type PolicyModel = z.infer<typeof policyModelSchema>;

/** Validates a model; throws a JobSpecError naming every bad field. */
export function parsePolicyModel(input: unknown, source = 'model'): PolicyModel {
  const result = policyModelSchema.safeParse(input);
  if (result.success) return result.data;
  throw new JobSpecError(
    result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    `invalid policy model ${source}`,
  );
}

export function readPolicyModelFile(file: string): PolicyModel {
  return parsePolicyModel(parseJsonText(readFileSync(file, 'utf8'), file), file);
}

export function writePolicyModelFile(file: string, model: PolicyModel): void {
  writeFileSync(file, `${JSON.stringify(model, null, 2)}\n`);
}

/** The controller options a model sets. */
export function modelParams(model: PolicyModel): PolicyParams {
  return structuredClone(model.params);
}
