import path from 'node:path';
import '../src/steps'; // built-in steps

/** Step modules named by SPOTDAG_STEPS (path-delimited) or passed explicitly. */
export function stepModulesFromEnv(): string[] {
  return (process.env.SPOTDAG_STEPS ?? '').split(path.delimiter).filter(Boolean);
}

/**
 * Loads modules that call `defineStep(...)`. Both the control worker (to reject unknown step
 * names before a job starts) and every instance worker (to run them) load the same list.
 */
export function loadStepModules(modules: string[]): void {
  for (const module of modules) {
    const resolved = module.startsWith('.') || path.isAbsolute(module) ? path.resolve(module) : module;
    // Step modules are named at run time, so this has to be a dynamic require.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(resolved);
  }
}
