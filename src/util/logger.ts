// The logger every layer writes to; how its lines look is the CLI's choice (src/ui/logger.ts).
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export interface LogFields {
  address?: string;
  [key: string]: unknown;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** a logger whose lines carry this run id as correlation id */
  withRun(runId: string): Logger;
}
