import path from 'node:path';

/** Where spotdag keeps local state (dev server db, instance records, logs): SPOTDAG_HOME or ./.spotdag */
export function stateDir(): string {
  return path.resolve(process.env.SPOTDAG_HOME ?? '.spotdag');
}

export function workflowUiUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
