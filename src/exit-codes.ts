// The one table scripts and CI depend on. Help text is generated from it.
export const EXIT = {
  OK: 0,
  ERROR: 1,
  CHANGES: 2,
  APPROVAL: 3,
  LOCKED: 4,
  STALE: 5,
  PARTIAL: 6,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_TABLE: ReadonlyArray<{code: ExitCode; name: keyof typeof EXIT; meaning: string}> = [
  {code: EXIT.OK, name: 'OK', meaning: 'success'},
  {code: EXIT.ERROR, name: 'ERROR', meaning: 'error (bad input, engine unreachable, ...)'},
  {code: EXIT.CHANGES, name: 'CHANGES', meaning: 'plan has changes (only with --detailed-exitcode)'},
  {code: EXIT.APPROVAL, name: 'APPROVAL', meaning: 'approval required or policy denied'},
  {code: EXIT.LOCKED, name: 'LOCKED', meaning: 'workspace locked'},
  {code: EXIT.STALE, name: 'STALE', meaning: 'plan stale or signature invalid'},
  {code: EXIT.PARTIAL, name: 'PARTIAL', meaning: 'apply failed partway (see the ledger and the output)'},
  {code: EXIT.INTERRUPTED, name: 'INTERRUPTED', meaning: 'interrupted'},
];

export function exitCodeHelp(): string {
  return 'EXIT CODES\n' + EXIT_TABLE.map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`).join('\n');
}
