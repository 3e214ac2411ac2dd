// The readiness section of every plan, through the built CLI: in the human plan, in --json and
// in the saved file; `orx simulate FILE` gives the same numbers for the same seed, other ones
// for another seed. Planned without refresh: no engine needed.
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {orx, type CliResult} from '../helpers/cli.js';
import {BASE_YAML, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';
import fs from 'node:fs';
import path from 'node:path';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('sim');
  ws.write(BASE_YAML);
});
afterEach(async () => {
  await ws.cleanup();
});

async function cli(args: string[], code = 0): Promise<CliResult> {
  const r = await orx(args, {cwd: ws.dir});
  expect(r.code, `orx ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
  return r;
}

describe('readiness simulation', () => {
  it('is in every plan, is stored in the saved plan, and orx simulate repeats it exactly', async () => {
    // no history yet: the plan says so instead of a percentage; --readiness shows the estimate anyway
    expect((await cli(['plan', '--refresh=false'])).stdout).toMatch(/^Readiness: not enough history \(agent: 0 runs, /m);
    const human = await cli(['plan', '--refresh=false', '--readiness']);
    expect(human.stdout).toMatch(
      /^Readiness: \d+\.\d% likely to apply cleanly \(90% interval [\d.]+%–[\d.]+%\) · p50 [\d.]+s · p95 [\d.]+s · expected rollbacks [\d.]+ · 100% of steps pass policy without a human · mostly the prior: /m,
    );
    expect(human.stdout).toMatch(/1000 iterations, seed \d+, seedrandom 3\.0\.5 alea/);

    const doc = JSON.parse((await cli(['plan', '--refresh=false', '--json', '--sim-seed', '42', '--sim-iterations', '500'])).stdout);
    expect(doc.simulation).toMatchObject({
      seed: '42',
      iterations: 500,
      parallelism: 10,
      rng: {library: 'seedrandom', version: '3.0.5', algorithm: 'alea'},
      model: {version: 'orx-readiness/2'},
    });
    expect(doc.simulation.inputs.steps.map((s: {kind: string}) => s.kind).sort()).toEqual(['agent', 'image', 'network', 'volume']);
    // no history yet: every kind is on the prior, Beta(9.95, 0.05)
    expect(doc.simulation.per_kind.agent.p_success).toBeCloseTo(0.995, 3);
    expect(doc.simulation.readinessScore).toBeGreaterThan(0.9);
    expect(doc.simulation.readinessScore).toBeLessThan(1);
    expect(doc.simulation.interval90[0]).toBeLessThanOrEqual(doc.simulation.readinessScore);

    await cli(['plan', '--refresh=false', '-out', 'plans/p.json']);
    const saved = JSON.parse(fs.readFileSync(path.join(ws.dir, 'plans/p.json'), 'utf8')).simulation;
    const again = JSON.parse((await cli(['simulate', 'plans/p.json', '--json'])).stdout).simulation;
    for (const k of ['readinessScore', 'policyPassPct', 'p50_ms', 'p95_ms', 'expectedRollbacks', 'seed', 'iterations'])
      expect(again[k], k).toEqual(saved[k]);
    const other = JSON.parse((await cli(['simulate', 'plans/p.json', '--seed', '7', '--iterations', '2000', '--json'])).stdout).simulation;
    expect(other).toMatchObject({seed: '7', iterations: 2000});
    expect([other.readinessScore, other.p50_ms, other.p95_ms]).not.toEqual([saved.readinessScore, saved.p50_ms, saved.p95_ms]);
    // the same seed and inputs: the same numbers, run after run
    const repeat = JSON.parse((await cli(['simulate', 'plans/p.json', '--seed', '7', '--iterations', '2000', '--json'])).stdout).simulation;
    expect(repeat).toEqual(other);
  });
});
