// Secrets by reference, end to end through the built CLI against the real engine: the value
// reaches the agent as a 0400 file on a tmpfs and nowhere else: not in any file of the
// workspace (ledger included), not in anything orx printed, not in `docker inspect`.
import {generateKeyPairSync, randomBytes} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {noStack, orx, type CliResult} from '../helpers/cli.js';
import {execIn} from '../helpers/exec.js';
import {docker, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('sec');
});
afterEach(async () => {
  await ws.cleanup();
});

const AGENT = (extra = '', cpus = '0.2') => `workspace: __WS__
autonomy: 3
images:
  base:
    build: {context: images/agent-base}
agents:
  canary:
    image: base
    user: "1000:1000"
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"]
    resources: {cpus: ${cpus}, memory: 64m}
    secrets:
      API_KEY: env://ORX_CANARY_SECRET
      TLS_KEY: file://certs/agent.key
${extra}`;

async function canary(): Promise<{Id: string; State: string}> {
  const [c] = await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=agent.canary']}});
  return c as {Id: string; State: string};
}

/** Every byte of every file under dir (the ledger and its WAL included). */
function filesUnder(dir: string): Array<{file: string; bytes: Buffer}> {
  const out: Array<{file: string; bytes: Buffer}> = [];
  for (const entry of fs.readdirSync(dir, {withFileTypes: true, recursive: true})) {
    const full = path.join(entry.parentPath, entry.name);
    if (entry.isFile()) out.push({file: full, bytes: fs.readFileSync(full)});
  }
  return out;
}

describe('secrets by reference (canary)', () => {
  it('a distinctive value is delivered as a 0400 file on tmpfs, rotated with one restart, removed by halt and delete, and appears nowhere else', async () => {
    const v1 = `canary-one-${randomBytes(12).toString('hex')}`;
    const v2 = `canary-two-${randomBytes(12).toString('hex')}`;
    const fileValue = `canary-file-${randomBytes(12).toString('hex')}`;
    fs.mkdirSync(path.join(ws.dir, 'certs'));
    fs.writeFileSync(path.join(ws.dir, 'certs/agent.key'), `${fileValue}\n`, {mode: 0o600});
    ws.write(AGENT());
    const outputs: CliResult[] = [];
    const run = async (args: string[], value: string, expectCode = 0): Promise<CliResult> => {
      const r = await orx(args, {cwd: ws.dir, env: {ORX_CANARY_SECRET: value}});
      outputs.push(r);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(expectCode);
      return r;
    };

    // validate and plan stay offline: nothing is resolved
    await run(['validate'], v1);
    const offline = await run(['plan', '--json'], '');
    expect(JSON.stringify(JSON.parse(offline.stdout).steps.find((s: {address: string}) => s.address === 'agent.canary').after.secrets)).toBe(
      JSON.stringify({API_KEY: 'env://ORX_CANARY_SECRET', TLS_KEY: 'file://certs/agent.key'}),
    );

    // secrets check: every reference resolves, no value shown
    const check = await run(['secrets', 'check'], v1);
    expect(check.stdout).toMatch(/env:\/\/ORX_CANARY_SECRET +agent\.canary +API_KEY +env +ok/);
    expect(check.stdout).toMatch(/All 2 references resolve/);

    // apply, with --json and JSON logs
    await run(['apply', '--auto-approve', '--json', '--log-format', 'json'], v1);
    let c = await canary();
    expect(c.State).toBe('running');
    expect((await execIn(c.Id, ['cat', '/run/secrets/API_KEY'])).out).toBe(v1);
    expect((await execIn(c.Id, ['cat', '/run/secrets/TLS_KEY'])).out).toBe(fileValue);
    const stat = await execIn(c.Id, ['stat', '-c', '%a %u %n', '/run/secrets/API_KEY', '/run/secrets/TLS_KEY', '/run/secrets/orx-token']);
    expect(stat.out.trim().split('\n')).toEqual(['400 1000 /run/secrets/API_KEY', '400 1000 /run/secrets/TLS_KEY', '400 1000 /run/secrets/orx-token']);
    const mounts = await execIn(c.Id, ['cat', '/proc/mounts']);
    expect(mounts.out).toMatch(/ \/run\/secrets tmpfs ro[, ]/);
    // the agent knows where, not what
    const env = await execIn(c.Id, ['env']);
    expect(env.out).toContain('ORX_SECRETS_DIR=/run/secrets');
    expect(env.out).not.toContain(v1);
    // and it cannot write there
    expect((await execIn(c.Id, ['sh', '-c', 'echo x > /run/secrets/API_KEY'])).code).not.toBe(0);

    // its identity token verifies
    const token = (await execIn(c.Id, ['cat', '/run/secrets/orx-token'])).out;
    const verified = await run(['token', 'verify', token, '--json'], v1);
    expect(JSON.parse(verified.stdout)).toMatchObject({valid: true});

    // update in place (cpus): the secret stays, no restart needed for it
    ws.write(AGENT('', '0.3'));
    await run(['apply', '--auto-approve'], v1);
    c = await canary();
    expect((await execIn(c.Id, ['cat', '/run/secrets/API_KEY'])).out).toBe(v1);

    // rotation via env://: plan --refresh-secrets shows it (sensitive), apply restarts exactly once
    const before = await docker.getContainer(c.Id).inspect();
    const planned = await run(['plan', '--refresh-secrets', '--detailed-exitcode'], v2, 2);
    expect(planned.stdout).toMatch(/~ secret API_KEY \(sensitive\) \(rotated\)/);
    expect(planned.stdout).toMatch(/agent\.canary will be updated in place \(secret API_KEY rotated\)/);
    const rotatedPlan = JSON.parse((await run(['plan', '--refresh-secrets', '--json'], v2)).stdout);
    expect(rotatedPlan.steps.filter((s: {action: string}) => s.action !== 'noop').map((s: {action: string; address: string}) => `${s.action} ${s.address}`)).toEqual(['update agent.canary']);
    const since = Math.floor(Date.now() / 1000) - 1;
    await run(['apply', '--auto-approve', '--json', '--log-format', 'json'], v2);
    const after = await docker.getContainer(c.Id).inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
    // exactly one restart: one start event for the container since the apply began
    const events = await docker.getEvents({since, until: Math.floor(Date.now() / 1000) + 1, filters: {container: [c.Id], event: ['start']}});
    const starts = String(await new Promise<string>((resolve) => {
      let text = '';
      (events as NodeJS.ReadableStream).on('data', (d) => (text += d)).on('end', () => resolve(text));
    })).trim().split('\n').filter(Boolean);
    expect(starts).toHaveLength(1);
    expect((await execIn(c.Id, ['cat', '/run/secrets/API_KEY'])).out).toBe(v2);
    // nothing left to do: the fingerprint recorded is the new value's
    await run(['plan', '--refresh-secrets', '--detailed-exitcode'], v2, 0);

    // halt: the files leave the host tmpfs and the token is revoked; resume brings both back
    const hostDir = after.Mounts.find((m) => m.Destination === '/run/secrets')!.Source;
    expect(fs.existsSync(path.join(hostDir, 'API_KEY'))).toBe(true);
    const halted = await run(['halt', '--reason', 'canary drill', '--json'], v2);
    expect(JSON.parse(halted.stdout)).toMatchObject({secrets_removed: 1});
    expect(fs.existsSync(hostDir)).toBe(false);
    const revoked = await run(['token', 'verify', token], v2, 1);
    expect(revoked.stdout + revoked.stderr).toMatch(/revoked/);
    await run(['resume', '--reason', 'drill over', '--auto-approve', '--json'], v2);
    c = await canary();
    expect(c.State).toBe('running');
    expect((await execIn(c.Id, ['cat', '/run/secrets/API_KEY'])).out).toBe(v2);

    // what the audit trail shows
    await run(['events', '--json'], v2);
    await run(['runs', '--json'], v2);
    await run(['state', 'show', 'agent.canary', '--json'], v2);
    await run(['audit', 'export', '-o', 'audit.json'], v2);
    await run(['audit', 'verify'], v2);

    // the canary: zero occurrences anywhere orx wrote or printed, and in docker inspect
    const inspected = JSON.stringify(await Promise.all((await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})).map((x) => docker.getContainer(x.Id).inspect())));
    const printed = outputs.map((o) => o.stdout + o.stderr).join('\n');
    for (const value of [v1, v2, fileValue]) {
      const hits = filesUnder(ws.dir).filter((f) => f.file !== path.join(ws.dir, 'certs/agent.key') && f.bytes.includes(value)).map((f) => f.file);
      expect(hits, `files holding ${value.slice(0, 10)}…`).toEqual([]);
      expect(printed.includes(value)).toBe(false);
      expect(inspected.includes(value)).toBe(false);
    }
    // the ledger keeps a keyed fingerprint per secret, not the value
    const state = JSON.parse((await run(['state', 'show', 'agent.canary', '--json'], v2)).stdout);
    expect(JSON.stringify(state)).not.toContain(v2);

    // delete: the directory goes with the agent, and so does its identity
    ws.write(`workspace: __WS__\nautonomy: 3\nimages:\n  base:\n    build: {context: images/agent-base}\n`);
    const live = (await execIn(c.Id, ['cat', '/run/secrets/orx-token'])).out;
    // autonomy 3 and no policies/ in this workspace: policy alone decides, and nothing asks
    const deleted = await orx(['apply', '--auto-approve'], {cwd: ws.dir, env: {ORX_CANARY_SECRET: v2}});
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await canary()).toBeUndefined();
    expect(fs.existsSync(hostDir)).toBe(false);
    expect((await orx(['token', 'verify', live], {cwd: ws.dir})).code).toBe(1);
  });

  it('a literal where a reference belongs is a config error naming the key, without the value', async () => {
    const literal = `sk-live-${randomBytes(10).toString('hex')}`;
    ws.write(AGENT().replace('env://ORX_CANARY_SECRET', literal));
    const r = await orx(['validate'], {cwd: ws.dir});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/orchestration\.yml:\d+:\d+: agents\.canary\.secrets\.API_KEY is a literal value, not a secret reference \(the value is not shown\)/);
    expect(r.stderr + r.stdout).not.toContain(literal);
    expect(noStack(r.stderr)).toBe(true);
    // a malformed 1Password reference is caught offline by the SDK's validator
    ws.write(AGENT().replace('env://ORX_CANARY_SECRET', 'op://only-a-vault'));
    const bad = await orx(['validate'], {cwd: ws.dir});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/orchestration\.yml:\d+:\d+: agents\.canary\.secrets\.API_KEY: .*could not be parsed/);
  });

  it('a reference that does not resolve fails the apply before any change, naming the reference and the agent', async () => {
    fs.mkdirSync(path.join(ws.dir, 'certs'));
    fs.writeFileSync(path.join(ws.dir, 'certs/agent.key'), 'file-secret-value\n', {mode: 0o644});
    ws.write(AGENT());
    const r = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/agent\.canary secret API_KEY: env:\/\/ORX_CANARY_SECRET .*not set/);
    expect(r.stderr).toMatch(/agent\.canary secret TLS_KEY: file:\/\/certs\/agent\.key .*chmod 600/s);
    expect(noStack(r.stderr)).toBe(true);
    expect(await canary()).toBeUndefined();
    const check = await orx(['secrets', 'check', '--json'], {cwd: ws.dir});
    expect(check.code).toBe(1);
    const doc = JSON.parse(check.stdout);
    expect(doc).toMatchObject({ok: false, checked: 2, failed: 2});
    expect(doc.secrets.map((s: {key: string; status: string}) => `${s.key} ${s.status}`)).toEqual(['API_KEY error', 'TLS_KEY error']);
  });

  it('signing.key may be a secret reference: plans are signed with the key it resolves to', async () => {
    const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'});
    const pem = privateKey.export({type: 'pkcs8', format: 'pem'}).toString();
    fs.writeFileSync(path.join(ws.dir, 'ci.pub'), publicKey.export({type: 'spki', format: 'pem'}));
    ws.write(`workspace: __WS__\nautonomy: 3\nsigning: {key: env://ORX_TEST_SIGNING_PEM}\nnetworks:\n  n: {}\n`);
    const env = {ORX_TEST_SIGNING_PEM: pem};
    const planned = await orx(['plan', '-out', 'p.json'], {cwd: ws.dir, env});
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout + planned.stderr).not.toContain('PRIVATE KEY');
    // the apply job trusts the CI key explicitly, as with a signing key file
    expect((await orx(['apply', 'p.json'], {cwd: ws.dir, env})).code).toBe(5);
    const applied = await orx(['apply', 'p.json', '--trusted-key', 'ci.pub'], {cwd: ws.dir, env});
    expect(applied.code, applied.stderr).toBe(0);
    const missing = await orx(['plan', '-out', 'q.json'], {cwd: ws.dir});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/signing\.key: .*ORX_TEST_SIGNING_PEM.*not set/);
  });
});
