// Redaction against an agent that prints its secrets where orx reads: its failing health check
// cats a multi-line file:// secret and a value longer than every limit in orx (and than the 4 KiB
// the engine keeps of a health check's output). Through a failing blue-green update (the
// engine's own health check, cut by the engine) and a failing restore (orx's exec probe, cut by
// orx), nothing of either value reaches stdout, stderr, `orx events --json` or the signed audit
// export: no line of the multi-line value, no 20-character window of the long one.
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {noStack, orx, type CliResult} from '../helpers/cli.js';
import {sh} from '../helpers/exec.js';
import {docker, makeWorkspace, type TestWorkspace, SLEEP_CMD, keeperYaml} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('red');
});
afterEach(async () => {
  await ws.cleanup();
});

const REDACTED = '(sensitive)';
const LONG_LENGTH = 6000;
const WINDOW = 20;

// letters and digits only: the same bytes whether printed raw or inside JSON
const token = (n: number): string => {
  let s = '';
  while (s.length < n)
    s += randomBytes(n)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, '');
  return s.slice(0, n);
};

interface Canary {
  lines: string[];
  long: string;
}

/** Writes the two secret files (the multi-line one with `eol` line endings) into the workspace. */
function plantSecrets(eol: string): Canary {
  const lines = ['-----BEGIN CANARY KEY-----', ...Array.from({length: 5}, () => token(64)), '-----END CANARY KEY-----'];
  const long = token(LONG_LENGTH);
  fs.mkdirSync(path.join(ws.dir, 'certs'));
  fs.writeFileSync(path.join(ws.dir, 'certs/multi.pem'), `${lines.join(eol)}${eol}`, {mode: 0o600});
  fs.writeFileSync(path.join(ws.dir, 'certs/long.txt'), long, {mode: 0o600});
  return {lines, long};
}

/** What of the canary shows in `text`: each line, and each 20-character window of the long value. */
function leaks(text: string, c: Canary): string[] {
  const found = c.lines.filter((l) => text.includes(l));
  for (let i = 0; i + WINDOW <= c.long.length; i++) {
    const w = c.long.slice(i, i + WINDOW);
    if (text.includes(w)) found.push(`long[${i}..${i + WINDOW}]`);
    if (found.length > 5) break;
  }
  return found;
}

const SECRETS = `    secrets:
      CANARY_PEM: file://certs/multi.pem
      CANARY_LONG: file://certs/long.txt`;

const PRINT = 'cat /run/secrets/CANARY_PEM /run/secrets/CANARY_LONG';

/** The CLI in this test's workspace, keeping every output for the leak checks. */
function recordingCli(): {outputs: CliResult[]; cli: (args: string[], code?: number) => Promise<CliResult>} {
  const outputs: CliResult[] = [];
  const cli = async (args: string[], code = 0): Promise<CliResult> => {
    const r = await orx(args, {cwd: ws.dir});
    outputs.push(r);
    expect(r.code, `orx ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
    expect(noStack(r.stderr)).toBe(true);
    return r;
  };
  return {outputs, cli};
}

describe('redaction of what an agent prints', () => {
  it(
    'a failing blue-green update whose health check prints the secrets (CRLF lines): nothing of them in any output, events or the audit export',
    {timeout: 180_000},
    async () => {
      const canary = plantSecrets('\r\n');
      const yaml = (version: string) => `workspace: __WS__
autonomy: 3
images:
  base:
    build: {context: images/agent-base}
agents:
  web:
    image: base
    user: "1000:1000"
    command: ${SLEEP_CMD}
    env: {VERSION: "${version}"}
    resources: {cpus: 0.3, memory: 64m}
${SECRETS}
    health: {shell: '${PRINT}; test "$VERSION" = v1', interval: 1s, timeout: 2s, retries: 2}
    update: {strategy: blue-green, health_timeout: 20s}
`;
      const {outputs, cli} = recordingCli();
      await cli(['keys', 'init']);
      ws.write(yaml('v1'));
      await cli(['apply', '--auto-approve']);

      ws.write(yaml('v2'));
      // the agent did print them, and orx said what it printed: (sensitive) in their place (human
      // log lines on stderr, the JSON result on stdout; then JSON log lines)
      const failed = await cli(['apply', '--auto-approve', '--json'], 6);
      expect(failed.stderr).toMatch(/blue-green: the new container was not healthy \(unhealthy: .*\).* Last check: .*\(sensitive\)/);
      expect(failed.stdout).toMatch(/Last check: .*\(sensitive\)/);
      const jsonLogs = await cli(['apply', '--auto-approve', '--log-format', 'json'], 6);
      // the step's one structured line carries the error, redacted
      expect(jsonLogs.stderr).toMatch(
        /"msg":"\w+ (rolled back|failed)".*"error":"[^"]*blue-green: the new container was not healthy.* Last check: .*\(sensitive\)/,
      );

      const events = await cli(['events', '--json']);
      const rollbacks = (JSON.parse(events.stdout).events as Array<{payload: {rollback?: {health_output: string}} | null}>).filter(
        (e) => e.payload?.rollback,
      );
      expect(rollbacks).toHaveLength(2);
      for (const r of rollbacks) expect(r.payload!.rollback!.health_output).toContain(REDACTED);
      const exported = await cli(['audit', 'export', '-o', 'audit.json', '--json']);
      const bundle = fs.readFileSync(path.join(ws.dir, 'audit.json'), 'utf8');
      expect(bundle).toContain('blue-green rolled back');

      for (const r of outputs) expect(leaks(`${r.stdout}\n${r.stderr}`, canary), `orx output:\n${r.stdout}\n${r.stderr}`).toEqual([]);
      expect(leaks(bundle, canary)).toEqual([]);
      expect(leaks(exported.stdout, canary)).toEqual([]);
      // and the ledger file itself
      expect(leaks(fs.readFileSync(path.join(ws.dir, '.orx/ledger.db')).toString('latin1'), canary)).toEqual([]);
    },
  );

  it(
    'a failing restore whose health check prints the secrets (LF lines): nothing of them in any output, events or the audit export',
    {timeout: 180_000},
    async () => {
      const canary = plantSecrets('\n');
      ws.write(
        keeperYaml({
          agentExtra: `${SECRETS}\n`,
          health: `{exec: ["/bin/sh", "-c", "test ! -e /data/broken || { ${PRINT}; exit 1; }"], interval: 1s, timeout: 2s, retries: 1}`,
        }),
      );
      const {outputs, cli} = recordingCli();
      await cli(['apply', '--auto-approve']);
      const [keeper] = await docker.listContainers({
        filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=agent.keeper']},
      });
      // a backup of data the health check rejects, then the live data made good again
      await sh(keeper.Id, 'touch /data/broken');
      await cli(['dr', 'backup', '--auto-approve']);
      const id = JSON.parse((await cli(['dr', 'list', '--json'])).stdout).backups[0].id as string;
      await sh(keeper.Id, 'rm /data/broken');

      await cli(['dr', 'restore', id, '-out', 'plans/restore.json']);
      await cli(['approve', 'plans/restore.json', '--all', '--reason', 'restore in a redaction test']);
      const failed = await cli(['apply', 'plans/restore.json'], 6);
      expect(failed.stderr).toMatch(/restore of volume\.memory failed: agent\.keeper .*\(last check: …?.*\(sensitive\).*\); rolled back/);

      const events = await cli(['events', '--json']);
      expect(events.stdout).toMatch(/restore of volume\.memory failed: .*\(sensitive\)/);
      await cli(['audit', 'export', '-o', 'audit.json']);
      const bundle = fs.readFileSync(path.join(ws.dir, 'audit.json'), 'utf8');
      expect(bundle).toContain('restore of volume.memory failed');
      await cli(['runs', '--json']);

      for (const r of outputs) expect(leaks(`${r.stdout}\n${r.stderr}`, canary), `orx output:\n${r.stdout}\n${r.stderr}`).toEqual([]);
      expect(leaks(bundle, canary)).toEqual([]);
      expect(leaks(fs.readFileSync(path.join(ws.dir, '.orx/ledger.db')).toString('latin1'), canary)).toEqual([]);
    },
  );
});
