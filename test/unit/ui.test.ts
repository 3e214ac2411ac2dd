import {describe, expect, it} from 'vitest';
import type {StepResult} from '../../src/engine/executor.js';
import type {PlannedStep} from '../../src/resources/types.js';
import {setColor} from '../../src/ui/color.js';
import {createLogger} from '../../src/ui/logger.js';
import {renderPlan, summaryLine} from '../../src/ui/plan-view.js';
import {progressReporter} from '../../src/ui/progress.js';
import {renderRuns, table} from '../../src/ui/state-view.js';
import {planDocument, plannedStep} from '../helpers/plan-fixtures.js';

setColor(false);

const step = (over: Partial<PlannedStep>): PlannedStep =>
  plannedStep({id: 's1', category: 'DEPLOY', after: {name: 'x', env: {A: '1'}, config_hash: 'h'}, ...over});

const doc = planDocument;

describe('plan view', () => {
  it('renders terraform-style symbols, forced replacements and the summary line', () => {
    const text = renderPlan(
      doc(
        [
          step({}),
          step({address: 'agent.b', action: 'replace', changes: [{path: 'env.A', before: '1', after: '2', forces_replacement: true}]}),
          step({address: 'agent.c', action: 'update', changes: [{path: 'memory_bytes', before: 1, after: 2, forces_replacement: false}]}),
          step({address: 'agent.d', action: 'delete', reasons: ['deleted outside orx']}),
        ],
        {
          summary: {create: 1, update: 1, replace: 1, delete: 1},
          drift: [{address: 'agent.d', kind: 'agent', status: 'deleted', changes: []}],
        },
      ),
    );
    expect(text).toContain('  + agent.a');
    // nested values as YAML below their key
    expect(text).toContain('      + env:\n          A: "1"');
    expect(text).not.toContain('config_hash');
    expect(text).toContain('-/+ agent.b');
    expect(text).toContain('~ env.A = "1" -> "2" # forces replacement');
    expect(text).toContain('  ~ agent.c');
    // bytes in the unit orchestration.yml uses
    expect(text).toContain('~ memory = "1b" -> "2b"\n');
    expect(text).toContain('  - agent.d');
    expect(text).toContain('# agent.d will be destroyed (deleted outside orx)');
    expect(text).toMatch(/Drift: objects changed outside orx[\s\S]*- agent.d: deleted outside orx/);
    expect(text.trim().endsWith('Plan: 1 to add, 1 to change, 1 to replace, 1 to destroy.')).toBe(true);
  });

  it('says when there is nothing to do, or only something to record', () => {
    expect(summaryLine(doc([step({action: 'noop'})]))).toBe('No changes. The workspace matches the configuration.');
    expect(summaryLine(doc([step({action: 'noop', record: true})]))).toMatch(/1 existing object\(s\) will be recorded/);
  });
});

describe('progress', () => {
  const result = (status: StepResult['status'], error?: string): StepResult => ({
    run_id: 'run-1',
    step: step({}),
    status,
    error,
    elapsed_ms: 1500,
  });

  it('writes one plain line per finished step without a TTY', () => {
    const out: string[] = [];
    const p = progressReporter((s) => out.push(s), false);
    p.onStart!(step({}));
    p.onFinish!(result('succeeded'));
    p.onFinish!(result('failed', 'boom'));
    p.onFinish!(result('skipped'));
    p.close();
    expect(out).toEqual([
      '✓ agent.a: create succeeded (1.5s)\n',
      '✗ agent.a: create failed (1.5s): boom\n',
      '· agent.a: create skipped (1.5s) (not started)\n',
    ]);
  });

  it('keeps a live status line on a TTY', () => {
    const out: string[] = [];
    const p = progressReporter(
      (s) => out.push(s),
      true,
      () => 0,
    );
    p.onStart!(step({}));
    expect(out.at(-1)).toMatch(/\r\x1b\[2K… running 1 \[agent.a\] · done 0 · failed 0/);
    p.onFinish!(result('succeeded'));
    p.close();
    expect(out.join('')).toContain('✓ agent.a: create succeeded');
  });
});

describe('logger', () => {
  it('writes JSON lines with the run id as correlation id', () => {
    const lines: string[] = [];
    const log = createLogger({format: 'json', level: 'info', write: (l) => lines.push(l)}).withRun('run-1');
    log.debug('hidden');
    log.info('hello', {address: 'agent.a'});
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({level: 'info', msg: 'hello', run_id: 'run-1', address: 'agent.a'});
  });

  it('writes text lines prefixed with level and address', () => {
    const lines: string[] = [];
    const log = createLogger({format: 'text', level: 'debug', write: (l) => lines.push(l)});
    log.warn('careful', {address: 'agent.a'});
    log.error('bad');
    expect(lines).toEqual(['warn: agent.a: careful\n', 'error: bad\n']);
  });
});

describe('tables', () => {
  it('pads columns and lists runs', () => {
    expect(
      table([
        ['a', 'bb'],
        ['ccc', 'd'],
      ]),
    ).toBe('a    bb\nccc  d');
    expect(renderRuns([])).toBe('No runs yet.');
  });
});
