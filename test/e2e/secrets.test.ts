// Secrets by reference, end to end through the built CLI against the real engine: the value
// reaches the agent as a 0400 file on a tmpfs and nowhere else: not in any file of the
// workspace (ledger included), not in anything orx printed, not in `docker inspect`.
import {execFileSync} from 'node:child_process';
import {generateKeyPairSync, randomBytes} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {noStack, orx, orxApproved, type CliResult} from '../helpers/cli.js';
import {execIn} from '../helpers/exec.js';
import {docker, makeWorkspace, type TestWorkspace, SLEEP_CMD} from '../helpers/workspace.js';

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
    command: ${SLEEP_CMD}
    resources: {cpus: ${cpus}, memory: 64m}
    secrets:
      API_KEY: env://ORX_CANARY_SECRET
      TLS_KEY: file://certs/agent.key
${extra}`;

async function canary(): Promise<{Id: string; State: string}> {
  const [c] = await docker.listContainers({
    all: true,
    filters: {label: [`io.orchestrix.workspace=${ws.name}`, 'io.orchestrix.address=agent.canary']},
  });
  return c;
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
  // about twenty commands, four of them applies: 46-58 s on a loaded 2-core machine
  it(
    'a distinctive value is delivered as a 0400 file on tmpfs, rotated with one restart, removed by halt and delete, and appears nowhere else',
    {timeout: 180_000},
    async () => {
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
      expect(
        JSON.stringify(JSON.parse(offline.stdout).steps.find((s: {address: string}) => s.address === 'agent.canary').after.secrets),
      ).toBe(JSON.stringify({API_KEY: 'env://ORX_CANARY_SECRET', TLS_KEY: 'file://certs/agent.key'}));

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
      expect(stat.out.trim().split('\n')).toEqual([
        '400 1000 /run/secrets/API_KEY',
        '400 1000 /run/secrets/TLS_KEY',
        '400 1000 /run/secrets/orx-token',
      ]);
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
      expect(
        rotatedPlan.steps
          .filter((s: {action: string}) => s.action !== 'noop')
          .map((s: {action: string; address: string}) => `${s.action} ${s.address}`),
      ).toEqual(['update agent.canary']);
      const since = Math.floor(Date.now() / 1000) - 1;
      await run(['apply', '--auto-approve', '--json', '--log-format', 'json'], v2);
      const after = await docker.getContainer(c.Id).inspect();
      expect(after.Id).toBe(before.Id);
      expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
      // exactly one restart: one start event for the container since the apply began
      const events = await docker.getEvents({
        since,
        until: Math.floor(Date.now() / 1000) + 1,
        filters: {container: [c.Id], event: ['start']},
      });
      const starts = String(
        await new Promise<string>((resolve) => {
          let text = '';
          events.on('data', (d) => (text += d)).on('end', () => resolve(text));
        }),
      )
        .trim()
        .split('\n')
        .filter(Boolean);
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
      const inspected = JSON.stringify(
        await Promise.all(
          (await docker.listContainers({all: true, filters: {label: [`io.orchestrix.workspace=${ws.name}`]}})).map((x) =>
            docker.getContainer(x.Id).inspect(),
          ),
        ),
      );
      const printed = outputs.map((o) => o.stdout + o.stderr).join('\n');
      for (const value of [v1, v2, fileValue]) {
        const hits = filesUnder(ws.dir)
          .filter((f) => f.file !== path.join(ws.dir, 'certs/agent.key') && f.bytes.includes(value))
          .map((f) => f.file);
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
      // a delete always needs a human (the built-in approve-destroy): approved, then applied
      const deleted = await orxApproved('apply', {cwd: ws.dir, env: {ORX_CANARY_SECRET: v2}});
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(await canary()).toBeUndefined();
      expect(fs.existsSync(hostDir)).toBe(false);
      expect((await orx(['token', 'verify', live], {cwd: ws.dir})).code).toBe(1);
    },
  );

  it('a literal where a reference belongs is a config error naming the key, without the value', async () => {
    const literal = `sk-live-${randomBytes(10).toString('hex')}`;
    ws.write(AGENT().replace('env://ORX_CANARY_SECRET', literal));
    const r = await orx(['validate'], {cwd: ws.dir});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /orchestration\.yml:\d+:\d+: agents\.canary\.secrets\.API_KEY is a literal value, not a secret reference \(the value is not shown\)/,
    );
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
    // the apply's plan looks first: the unsafe file is an error at its line, the unset variable a warning
    const r = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/warn: orchestration\.yml:\d+:\d+: agents\.canary\.secrets\.API_KEY: env:\/\/ORX_CANARY_SECRET is not set/);
    expect(r.stderr).toMatch(/orchestration\.yml:\d+:\d+: agents\.canary\.secrets\.TLS_KEY: file:\/\/certs\/agent\.key .*chmod 600/);
    expect(noStack(r.stderr)).toBe(true);
    expect(await canary()).toBeUndefined();
    // with the file fixed, the resolver at apply names the variable, still before any change
    fs.chmodSync(path.join(ws.dir, 'certs/agent.key'), 0o600);
    const unset = await orx(['apply', '--auto-approve'], {cwd: ws.dir});
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/agent\.canary secret API_KEY: env:\/\/ORX_CANARY_SECRET .*not set/);
    expect(noStack(unset.stderr)).toBe(true);
    expect(await canary()).toBeUndefined();
    fs.chmodSync(path.join(ws.dir, 'certs/agent.key'), 0o644);
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

/** A runtime directory of its own on the host tmpfs, traversable by everyone like /dev/shm, so only orx's own modes keep others out. */
function runtimeDir(made: string[]): string {
  const dir = fs.mkdtempSync('/dev/shm/orx-e2e-runtime-');
  fs.chmodSync(dir, 0o755);
  made.push(dir);
  return dir;
}

describe("file:// cannot reach orx's own secrets or the kernel", () => {
  it('.orx/ and /proc references are config errors at validate and plan; a FIFO, a 0622 file and a link into .orx/ fail secrets check; no value is printed', async () => {
    ws.write('workspace: __WS__\nautonomy: 3\n');
    expect((await orx(['keys', 'init'], {cwd: ws.dir})).code).toBe(0);
    expect((await orx(['plan'], {cwd: ws.dir})).code).toBe(0); // makes the ledger
    const keyPem = fs.readFileSync(path.join(ws.dir, '.orx/keys/signing.key'), 'utf8');
    const keyBody = keyPem.split('\n')[1];
    const environCanary = `environ-canary-${randomBytes(8).toString('hex')}`;
    const env = {CANARY_IN_ENVIRON: environCanary, ORX_CANARY_SECRET: `env-value-${randomBytes(8).toString('hex')}`};
    const printed: string[] = [];
    const run = async (args: string[]): Promise<CliResult> => {
      const r = await orx(args, {cwd: ws.dir, env});
      printed.push(r.stdout + r.stderr);
      return r;
    };

    // plainly wrong from the text: refused when the configuration loads, at the reference's line
    ws.write(
      AGENT().replace(
        'TLS_KEY: file://certs/agent.key',
        ['SIGNING: file://.orx/keys/signing.key', 'LEDGER: file://./x/../.orx/ledger.db', 'ENVIRON: file:///proc/self/environ'].join(
          '\n      ',
        ),
      ),
    );
    for (const args of [['validate'], ['plan']]) {
      const r = await run(args);
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr).toMatch(
        /orchestration\.yml:\d+:\d+: agents\.canary\.secrets\.SIGNING: file:\/\/\.orx\/keys\/signing\.key is inside an orx state directory/,
      );
      expect(r.stderr).toMatch(
        /orchestration\.yml:\d+:\d+: agents\.canary\.secrets\.LEDGER: file:\/\/\.\/x\/\.\.\/\.orx\/ledger\.db is inside an orx state directory/,
      );
      expect(r.stderr).toMatch(
        /orchestration\.yml:\d+:\d+: agents\.canary\.secrets\.ENVIRON: file:\/\/\/proc\/self\/environ is under \/proc/,
      );
      expect(noStack(r.stderr)).toBe(true);
    }

    // visible only on the filesystem: refused when resolved, each named, within a bound (a FIFO never hangs)
    const worldCanary = `world-writable-${randomBytes(8).toString('hex')}`;
    fs.writeFileSync(path.join(ws.dir, 'world.txt'), worldCanary);
    fs.chmodSync(path.join(ws.dir, 'world.txt'), 0o622);
    execFileSync('mkfifo', ['-m', '600', path.join(ws.dir, 'pipe')]);
    fs.symlinkSync('.orx/keys', path.join(ws.dir, 'keys'));
    ws.write(
      AGENT().replace(
        'TLS_KEY: file://certs/agent.key',
        ['WORLD: file://world.txt', 'PIPE: file://pipe', 'LINKED: file://keys/signing.key'].join('\n      '),
      ),
    );
    const t0 = Date.now();
    const check = await run(['secrets', 'check']);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(check.code).toBe(1);
    const out = check.stdout + check.stderr;
    expect(out).toMatch(/file:\/\/world\.txt +agent\.canary +WORLD +file +error/);
    expect(out).toMatch(/file:\/\/world\.txt is readable or writable by group or others \(mode 0622\)/);
    expect(out).toMatch(/file:\/\/pipe is not a regular file/);
    expect(out).toMatch(/file:\/\/keys\/signing\.key is inside an orx state directory/);
    const json = await run(['secrets', 'check', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ok: false, failed: 3});

    const all = printed.join('\n');
    for (const value of [keyBody, 'PRIVATE KEY', 'SQLite format', environCanary, worldCanary])
      expect(all.includes(value), value).toBe(false);
  });
});

const isRoot = process.getuid?.() === 0;

describe('secrets delivery on the host', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) fs.rmSync(d, {recursive: true, force: true});
  });

  it(`another host account with the agent's uid reads none of its secrets or its token; the agent still does${isRoot ? '' : ' (skipped: creating a second host account needs root)'}`, async (t) => {
    if (!isRoot) return t.skip();
    const user = `orxsec${randomBytes(3).toString('hex')}`;
    let uid = 0;
    for (let i = 0; i < 5 && uid === 0; i++) {
      const candidate = 47000 + Math.floor(Math.random() * 2000);
      try {
        execFileSync('useradd', ['-u', String(candidate), '-U', '-M', '-s', '/usr/sbin/nologin', user], {stdio: 'pipe'});
        uid = candidate;
      } catch {
        // that uid is taken: try another
      }
    }
    expect(uid, 'useradd').not.toBe(0);
    try {
      const xdg = runtimeDir(made);
      const env = {XDG_RUNTIME_DIR: xdg, ORX_CANARY_SECRET: `second-uid-env-${randomBytes(8).toString('hex')}`};
      const fileValue = `second-uid-file-${randomBytes(8).toString('hex')}`;
      fs.mkdirSync(path.join(ws.dir, 'certs'));
      fs.writeFileSync(path.join(ws.dir, 'certs/agent.key'), fileValue, {mode: 0o600});
      ws.write(AGENT().replace('"1000:1000"', `"${uid}:${uid}"`));
      const applied = await orx(['apply', '--auto-approve'], {cwd: ws.dir, env});
      expect(applied.code, applied.stderr).toBe(0);
      const c = await canary();
      const hostDir = (await docker.getContainer(c.Id).inspect()).Mounts.find((m) => m.Destination === '/run/secrets')!.Source;
      expect(hostDir.startsWith(`${xdg}/orchestrix/`)).toBe(true);
      const token = (await execIn(c.Id, ['cat', '/run/secrets/orx-token'])).out;
      expect((await execIn(c.Id, ['cat', '/run/secrets/API_KEY'])).out).toBe(env.ORX_CANARY_SECRET);
      expect((await execIn(c.Id, ['cat', '/run/secrets/TLS_KEY'])).out).toBe(fileValue);
      expect(token.length).toBeGreaterThan(20);

      const as = (cmd: string[]): {code: number; out: string} => {
        try {
          return {
            code: 0,
            out: execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...cmd], {
              stdio: 'pipe',
              timeout: 10_000,
            }).toString(),
          };
        } catch (err) {
          const e = err as {status: number | null; stdout?: Buffer};
          return {code: e.status ?? -1, out: String(e.stdout ?? '')};
        }
      };
      // the account works: it reads a file of its own next to orx's root
      const probe = path.join(xdg, 'probe');
      fs.writeFileSync(probe, 'probe-ok', {mode: 0o400});
      fs.chownSync(probe, uid, uid);
      expect(as(['cat', probe])).toEqual({code: 0, out: 'probe-ok'});
      // the files are its own (the agent's uid), but it cannot reach them
      expect(fs.statSync(path.join(hostDir, 'API_KEY')).uid).toBe(uid);
      for (const f of ['API_KEY', 'TLS_KEY', 'orx-token']) {
        const r = as(['cat', path.join(hostDir, f)]);
        expect(r.code, f).not.toBe(0);
        expect(r.out).toBe('');
      }
      for (const d of [`${xdg}/orchestrix`, path.dirname(hostDir), hostDir]) expect(as(['ls', d]).code, d).not.toBe(0);
      for (const d of [`${xdg}/orchestrix`, path.dirname(hostDir)]) expect(fs.statSync(d).mode & 0o777, d).toBe(0o700);
    } finally {
      execFileSync('userdel', [user], {stdio: 'pipe'});
    }
  });

  it('a symbolic link planted at the secrets root is refused with a clear error; its target keeps its mode and nothing is created', async () => {
    const xdg = runtimeDir(made);
    const elsewhere = path.join(xdg, 'elsewhere');
    fs.mkdirSync(elsewhere);
    fs.chmodSync(elsewhere, 0o755);
    fs.symlinkSync(elsewhere, path.join(xdg, 'orchestrix'));
    fs.mkdirSync(path.join(ws.dir, 'certs'));
    fs.writeFileSync(path.join(ws.dir, 'certs/agent.key'), 'planted-link-file-value', {mode: 0o600});
    ws.write(AGENT());
    const r = await orx(['apply', '--auto-approve'], {
      cwd: ws.dir,
      env: {XDG_RUNTIME_DIR: xdg, ORX_CANARY_SECRET: 'planted-link-env-value'},
    });
    expect(r.code).toBe(6);
    expect(r.stdout + r.stderr).toContain(
      `the secrets directory ${xdg}/orchestrix is a symbolic link (to ${elsewhere}), perhaps planted by another account; orx will not deliver secrets through it`,
    );
    expect(r.stdout + r.stderr).toMatch(/Remove the link/);
    expect(noStack(r.stderr)).toBe(true);
    expect(fs.statSync(elsewhere).mode & 0o777).toBe(0o755);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    expect(await canary()).toBeUndefined();
  });

  it('when XDG_RUNTIME_DIR changes between applies, rotated values reach the directory the agent mounts, and halt, replace and delete remove the earlier one', async () => {
    const [a, b, c] = [runtimeDir(made), runtimeDir(made), runtimeDir(made)];
    fs.mkdirSync(path.join(ws.dir, 'certs'));
    fs.writeFileSync(path.join(ws.dir, 'certs/agent.key'), 'moving-runtime-file', {mode: 0o600});
    ws.write(AGENT());
    const apply = async (xdg: string, value: string, extra: string[] = []): Promise<void> => {
      const r = await orx(['apply', '--auto-approve', ...extra], {cwd: ws.dir, env: {XDG_RUNTIME_DIR: xdg, ORX_CANARY_SECRET: value}});
      expect(r.code, r.stderr).toBe(0);
    };
    const mountOf = async (): Promise<string> =>
      (await docker.getContainer((await canary()).Id).inspect()).Mounts.find((m) => m.Destination === '/run/secrets')!.Source;
    await apply(a, 'value-one-under-a');
    const underA = await mountOf();
    expect(underA.startsWith(`${a}/orchestrix/`)).toBe(true);
    // rotated under another runtime directory: the running agent reads the new value where it mounts it
    await apply(b, 'value-two-under-b');
    expect((await execIn((await canary()).Id, ['cat', '/run/secrets/API_KEY'])).out).toBe('value-two-under-b');
    // halt under b still clears the files under a; resume gives them back where the agent mounts them
    const envB = {XDG_RUNTIME_DIR: b, ORX_CANARY_SECRET: 'value-two-under-b'};
    const halted = await orx(['halt', '--reason', 'runtime dir drill', '--json'], {cwd: ws.dir, env: envB});
    expect(halted.code, halted.stderr).toBe(0);
    expect(JSON.parse(halted.stdout)).toMatchObject({secrets_removed: 1});
    expect(fs.existsSync(underA)).toBe(false);
    const resumed = await orx(['resume', '--reason', 'drill over', '--auto-approve'], {cwd: ws.dir, env: envB});
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await execIn((await canary()).Id, ['cat', '/run/secrets/API_KEY'])).out).toBe('value-two-under-b');
    // replaced (new command): the new container mounts from b, a's directory is gone
    ws.write(AGENT().replace('sleep 3600', 'sleep 3599'));
    await apply(b, 'value-two-under-b');
    const underB = await mountOf();
    expect(underB.startsWith(`${b}/orchestrix/`)).toBe(true);
    expect(fs.existsSync(underA)).toBe(false);
    expect(fs.existsSync(path.dirname(underA))).toBe(false);
    // deleted under yet another: b's directory goes with the agent
    ws.write('workspace: __WS__\nautonomy: 3\nimages:\n  base:\n    build: {context: images/agent-base}\n');
    const deleted = await orxApproved('apply', {cwd: ws.dir, env: {XDG_RUNTIME_DIR: c, ORX_CANARY_SECRET: 'value-two-under-b'}});
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await canary()).toBeUndefined();
    expect(fs.existsSync(underB)).toBe(false);
    expect(fs.readdirSync(c)).toEqual([]);
  }, 180_000); // six applies, a halt and a resume
});
