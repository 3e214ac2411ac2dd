import {afterEach, describe, expect, it} from 'vitest';
import {setColor} from '../../src/ui/color.js';
import {unfinishedSummary} from '../../src/ui/apply-summary.js';

afterEach(() => setColor(false));

describe('the summary of an apply that did not finish', () => {
  it('says what was rolled back, and never "Done (0): nothing" after a container was touched', () => {
    const text = unfinishedSummary('Apply failed partway (run r1).', [
      {
        address: 'agent.web',
        action: 'replace',
        status: 'rolled_back',
        error: 'the new container did not start: address already in use; rolled back: orx-w-web runs again with the old configuration',
      },
      {address: 'agent.api', action: 'create', status: 'skipped'},
    ]);
    expect(text).toBe(
      [
        'Apply failed partway (run r1).',
        'Rolled back (1), the old version runs as before: agent.web replace (the new container did not start: address already in use; rolled back: orx-w-web runs again with the old configuration)',
        'Not done (1): agent.api create skipped',
        'The ledger records all of it; run `orx plan` to see what is left.',
      ].join('\n'),
    );
  });

  it('a failed rollback, or an old object removed before its replacement failed, is red and named', () => {
    setColor(true);
    const text = unfinishedSummary('Apply failed partway (run r2).', [
      {address: 'network.n', action: 'create', status: 'succeeded'},
      {
        address: 'agent.web',
        action: 'replace',
        status: 'failed',
        rollback_failed: true,
        error: 'x; the rollback failed too: the new container orx-w-web.next-1a2b3c4d (abc) is left behind',
      },
      {address: 'agent.db', action: 'replace', status: 'failed', destroyed: true, error: 'cannot start container'},
    ]);
    const lines = text.split('\n');
    expect(lines[1]).toBe('Done (1): network.n create');
    expect(lines[2]).toMatch(
      /^\x1b\[31magent\.web replace failed and could not be rolled back: .*orx-w-web\.next-1a2b3c4d \(abc\) is left behind\x1b\[39m$/,
    );
    expect(lines[3]).toMatch(
      /^\x1b\[31magent\.db replace failed after its old object was removed: it is gone until the next apply: cannot start container/,
    );
    expect(text).not.toMatch(/Not done/);
  });

  it('with nothing touched, says so as before', () => {
    expect(unfinishedSummary('Apply interrupted (run r3).', [{address: 'agent.a', action: 'create', status: 'skipped'}])).toMatch(
      /^Apply interrupted \(run r3\)\.\nDone \(0\): nothing\nNot done \(1\): agent\.a create skipped\n/,
    );
  });
});
