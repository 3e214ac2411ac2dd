import path from 'node:path';
import {Command, Flags, Errors} from '@oclif/core';
import {OrxError, toOrxError} from '../errors.js';
import {EXIT, exitCodeHelp, type ExitCode} from '../exit-codes.js';
import type {OrxContext} from '../engine/context.js';
import {setColor} from '../ui/color.js';
import {createLogger} from '../ui/logger.js';
import type {LogFormat} from '../util/logger.js';
import {redactStream} from '../util/redact.js';
import {configureTools, operatorToolPaths, toolEnvName} from '../drivers/tools.js';
import {guardOutput} from './output-guard.js';
import {currentActor} from './actor.js';
import {JSON_FORMAT_VERSION, jsonRequested, writeError} from './render-error.js';
import {unknownFlagsError} from './unknown-input.js';
import {parseDuration} from './duration.js';
import {variableInputs} from './variable-flags.js';

export {JSON_FORMAT_VERSION};

/** What a command prints: `data` with --json (formatVersion is added), else `human`. */
export interface CommandResult<T extends object = object> {
  /** the JSON document, typed per command (src/app/results.ts, schemas/results/) */
  data: T;
  /** human rendering for stdout; nothing is printed when absent (a function: rendered only when printed) */
  human?: string | (() => string);
  exit?: ExitCode;
}

/** Already written to stdout as it came (schemas, followed events): nothing more is printed. */
export interface StreamedResult {
  streamed: true;
  exit?: ExitCode;
}

/**
 * The command layer: parse flags (each with an ORX_* twin), build the context, run one
 * operation, render it as text or JSON, map the outcome to the one exit-code table.
 */
export abstract class OrxCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({description: 'Print one JSON document on stdout and nothing else there.', env: 'ORX_JSON', default: false}),
    debug: Flags.boolean({description: 'Show stack traces and debug logs.', env: 'ORX_DEBUG', default: false}),
    'log-format': Flags.string({
      description: 'Format of the logs on stderr.',
      options: ['text', 'json'],
      env: 'ORX_LOG_FORMAT',
      default: 'text',
    }),
    chdir: Flags.directory({char: 'C', description: 'Workspace directory (default: the current directory).', env: 'ORX_CHDIR'}),
    'no-color': Flags.boolean({description: 'No colours in the output (like NO_COLOR).', env: 'ORX_NO_COLOR', default: false}),
    input: Flags.boolean({
      description: 'Ask for input on a terminal (--input=false: never, as without a terminal).',
      allowNo: true,
      env: 'ORX_INPUT',
      default: true,
    }),
  };

  static override enableJsonFlag = false;

  protected jsonMode = false;
  protected debugMode = false;
  protected orx!: OrxContext;

  abstract exec(): Promise<CommandResult | StreamedResult>;

  protected stderr(s: string): void {
    process.stderr.write(s);
  }

  /** --input=false: no review screen and no prompt, exactly as without a terminal */
  protected inputAllowed = true;

  protected get stdinIsTTY(): boolean {
    return this.inputAllowed && Boolean(process.stdin.isTTY);
  }

  protected get stderrIsTTY(): boolean {
    return Boolean(process.stderr.isTTY);
  }

  /** What the apply flow needs to know about the terminal and output mode. */
  protected get terminal(): {json: boolean; stdinIsTTY: boolean; stderrIsTTY: boolean} {
    return {json: this.jsonMode, stdinIsTTY: this.stdinIsTTY, stderrIsTTY: this.stderrIsTTY};
  }

  protected async setup(flags: {
    json: boolean;
    debug: boolean;
    'log-format': string;
    chdir?: string;
    'no-color'?: boolean;
    input?: boolean;
    'lock-timeout'?: string;
    'tool-kind'?: string;
    'tool-kubectl'?: string;
  }): Promise<void> {
    // checked before anything runs: a relative path would run whatever the current directory holds
    if ('tool-kind' in ((this.constructor as typeof OrxCommand).flags ?? {})) {
      configureTools(
        operatorToolPaths({kind: flags['tool-kind'], kubectl: flags['tool-kubectl']}, (n) => `--tool-${n} (${toolEnvName(n)})`),
      );
    }
    this.jsonMode = flags.json;
    this.debugMode = flags.debug;
    this.inputAllowed = flags.input !== false;
    setColor(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !flags['no-color'] && !flags.json);
    const log = createLogger({
      format: flags['log-format'] as LogFormat,
      level: flags.debug ? 'debug' : 'info',
      write: (s) => process.stderr.write(s),
    });
    this.orx = {
      dir: path.resolve(flags.chdir ?? process.cwd()),
      log,
      version: this.config.version,
      actor: currentActor(),
      command: ['orx', ...this.argv].join(' ').slice(0, 200),
      killSwitch: ['1', 'true', 'yes'].includes((process.env.ORX_KILL_SWITCH ?? '').toLowerCase()),
      lockTimeoutMs: flags['lock-timeout'] === undefined ? 0 : parseDuration(flags['lock-timeout'], '--lock-timeout'),
      vars: variableInputs(this.argv, 'var' in ((this.constructor as typeof OrxCommand).flags ?? {}), process.env),
    };
  }

  async run(): Promise<void> {
    // secret values resolved by any command never reach the terminal, a pipe or a CI log
    redactStream(process.stdout);
    redactStream(process.stderr);
    guardOutput(process.stdout);
    guardOutput(process.stderr);
    // known before parsing, so a usage error is still reported as JSON when asked
    this.jsonMode = jsonRequested(this.argv);
    try {
      const result = await this.exec();
      if ('streamed' in result) {
        // already on stdout
      } else if (this.jsonMode) process.stdout.write(JSON.stringify({formatVersion: JSON_FORMAT_VERSION, ...result.data}, null, 2) + '\n');
      else {
        const human = typeof result.human === 'function' ? result.human() : result.human;
        if (human) process.stdout.write(human.endsWith('\n') ? human : `${human}\n`);
      }
      process.exitCode = result.exit ?? EXIT.OK;
    } catch (err) {
      this.renderError(err);
    } finally {
      // the tool choice belongs to this command only (tests run several in one process)
      configureTools(null);
    }
  }

  protected renderError(err: unknown): void {
    let e: OrxError;
    const ctor = this.constructor as typeof OrxCommand;
    if (
      err instanceof Errors.CLIError &&
      !(err instanceof OrxError) &&
      /^Nonexistent flag/.test(err.message) &&
      Array.isArray((err as {flags?: unknown}).flags)
    ) {
      e = unknownFlagsError((err as unknown as {flags: string[]}).flags, {...ctor.baseFlags, ...ctor.flags}, this.id ?? '');
    } else if (err instanceof Errors.CLIError && !(err instanceof OrxError)) {
      // flag parsing and other oclif usage errors are user errors
      e = new OrxError({
        code: 'usage',
        message: err.message.replace(/\n\s*See more help with --help$/, ''),
        actions: [`See \`orx ${this.id?.replace(/:/g, ' ') ?? ''} --help\`.`],
      });
    } else {
      e = toOrxError(err);
    }
    writeError(e, {json: this.jsonMode, debug: this.debugMode});
  }
}

export {exitCodeHelp};
