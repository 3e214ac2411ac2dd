import type {LogFields, LogFormat, Logger, LogLevel} from '../util/logger.js';

const ORDER: Record<LogLevel, number> = {debug: 10, info: 20, warn: 30, error: 40};

export interface LoggerOptions {
  format: LogFormat;
  level: LogLevel;
  write: (line: string) => void;
  runId?: string;
}

export function createLogger(opts: LoggerOptions): Logger {
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (ORDER[level] < ORDER[opts.level]) return;
    if (opts.format === 'json') {
      opts.write(JSON.stringify({ts: new Date().toISOString(), level, msg, run_id: opts.runId ?? null, ...fields}) + '\n');
      return;
    }
    const where = fields.address ? `${fields.address}: ` : '';
    const tag = level === 'info' ? '' : `${level}: `;
    opts.write(`${tag}${where}${msg}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    withRun: (runId) => createLogger({...opts, runId}),
  };
}

export const silentLogger: Logger = createLogger({format: 'text', level: 'error', write: () => {}});
