import path from 'node:path';

/** Where spotdag keeps local state (dev server db, instance records, logs): SPOTDAG_HOME or ./.spotdag */
export function stateDir(): string {
  return path.resolve(process.env.SPOTDAG_HOME ?? '.spotdag');
}

/** Where spotdag installs the programs it needs and did not find (the `temporal` CLI, test servers). */
export function toolsDir(): string {
  return path.join(stateDir(), 'tools');
}
