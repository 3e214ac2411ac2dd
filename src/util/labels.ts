export const LABEL = {
  workspace: 'io.orchestrix.workspace',
  address: 'io.orchestrix.address',
  step: 'io.orchestrix.step',
  configHash: 'io.orchestrix.config-hash',
  contextDigest: 'io.orchestrix.context-digest',
} as const;

/** Docker object names are derived, never user-typed: `orx-<workspace>-<name>`. */
export function objectName(workspace: string, name: string): string {
  return `orx-${workspace}-${name}`;
}

export function ownLabels(workspace: string, address: string, stepKey: string): Record<string, string> {
  return {[LABEL.workspace]: workspace, [LABEL.address]: address, [LABEL.step]: stepKey};
}
