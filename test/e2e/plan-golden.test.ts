// The plan text of a 3-agent workspace, whole: what a user reads before an apply. Only what
// differs between runs is normalized (the workspace name and the plan id).
// Regenerate deliberately with: UPDATE_GOLDEN=1 npx vitest run test/e2e/plan-golden.test.ts
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {orx} from '../helpers/cli.js';
import {makeWorkspace, repoRoot, SLEEP_CMD, type TestWorkspace} from '../helpers/workspace.js';

const GOLDEN = path.join(repoRoot, 'test/fixtures/golden/plan-3-agents.txt');

export const THREE_AGENTS = `workspace: __WS__
autonomy: 1
networks:
  backplane: {internal: true}
volumes:
  memory: {backup: true}
images:
  base:
    build: {context: images/agent-base}
agents:
  web:
    image: base
    command: ${SLEEP_CMD}
    env: {LOG_LEVEL: info, MODE: serve}
    resources: {cpus: 0.5, memory: 128m}
    networks: [backplane]
    health:
      cmd: ["true"]
      interval: 5s
  worker:
    image: base
    command: ${SLEEP_CMD}
    resources: {cpus: 0.25, memory: 1g, pids: 512}
    networks: [backplane]
  keeper:
    image: base
    user: "1000:1000"
    command: ${SLEEP_CMD}
    resources: {memory: 64m}
    volumes: ["memory:/data"]
`;

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('gold');
});
afterEach(async () => {
  await ws.cleanup();
});

describe('the plan text', () => {
  it('of a 3-agent workspace matches test/fixtures/golden/plan-3-agents.txt', {timeout: 60_000}, async () => {
    ws.write(THREE_AGENTS);
    const r = await orx(['plan'], {cwd: ws.dir});
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout.replaceAll(ws.name, 'WS').replace(/plan-\d{14}-[0-9a-f]{8}/g, 'PLAN_ID');
    if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(GOLDEN, text);
    expect(text).toBe(fs.readFileSync(GOLDEN, 'utf8'));
  });
});
