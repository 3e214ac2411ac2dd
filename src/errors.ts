import {EXIT, type ExitCode} from './exit-codes.js';
import {excerpt} from './util/redact.js';

/**
 * The one error shape. `kind` decides how it is shown: a user error has no stack and
 * says what to do next; an external error carries what the outside world said; a bug
 * shows its stack and asks for a report.
 */
export type ErrorKind = 'user' | 'external' | 'bug';

export interface Diagnostic {
  file?: string;
  line?: number;
  col?: number;
  path?: string;
  message: string;
}

export interface OrxErrorInit {
  code: string;
  message: string;
  exit?: ExitCode;
  kind?: ErrorKind;
  actions?: string[];
  diagnostics?: Diagnostic[];
  data?: Record<string, unknown>;
  cause?: unknown;
}

export class OrxError extends Error {
  readonly code: string;
  readonly exit: ExitCode;
  readonly kind: ErrorKind;
  readonly actions: string[];
  readonly diagnostics: Diagnostic[];
  readonly data: Record<string, unknown>;

  constructor(init: OrxErrorInit) {
    super(init.message, init.cause === undefined ? undefined : {cause: init.cause});
    this.name = 'OrxError';
    this.code = init.code;
    this.exit = init.exit ?? EXIT.ERROR;
    this.kind = init.kind ?? 'user';
    this.actions = init.actions ?? [];
    this.diagnostics = init.diagnostics ?? [];
    this.data = init.data ?? {};
  }

  toJSON(): Record<string, unknown> {
    return {
      status: this.exit,
      code: this.code,
      message: this.message,
      actions: this.actions,
      diagnostics: this.diagnostics,
      data: this.data,
    };
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}:${d.col ?? 1}` : ''}: ` : d.path ? `${d.path}: ` : '';
  return `${where}${d.message}`;
}

/** Wraps anything thrown into the one error shape; unknown throwables are bugs. */
export function toOrxError(err: unknown): OrxError {
  if (err instanceof OrxError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  return new OrxError({
    code: 'internal',
    kind: 'bug',
    message: e.message,
    actions: ['This is a bug in orx: rerun with --debug and report the output.'],
    cause: e,
  });
}

/**
 * Shortens a value for an error message so hostile input never floods the terminal; redacted
 * before it is cut, like every short message made from outside text (excerpt()).
 */
export function preview(value: unknown, max = 60): string {
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return excerpt(s, {max, note: true, verbatim: true});
}
