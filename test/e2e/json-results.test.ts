// Every command's --json output, from the built CLI against a real workspace on the real
// engine, validated against its published schema (schemas/results/): one workspace with a
// network, a volume and a busybox agent taken through plan, apply, state, audit, keys,
// tokens, halt/resume and DR. Commands that cannot succeed here are validated through their
// error document, each with its reason.
import fs from 'node:fs';
import path from 'node:path';
import {Ajv, type ValidateFunction} from 'ajv';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {AJV_OPTIONS, readPublishedSchema, readResultSchema, resultSchemaNames} from '../../src/config/schema.js';
import {orx} from '../helpers/cli.js';
import {execIn} from '../helpers/exec.js';
import {BASE_YAML, makeWorkspace, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeAll(() => {
  ws = makeWorkspace('json');
  ws.write(BASE_YAML);
});
afterAll(async () => {
  await ws.cleanup();
});

const ajv = new Ajv({...AJV_OPTIONS, allErrors: true});
ajv.addSchema(readPublishedSchema('plan'));
for (const n of resultSchemaNames()) ajv.addSchema(readResultSchema(n)!);
const validator = (name: string): ValidateFunction => ajv.getSchema(`https://orchestrix.dev/schemas/results/${name}.schema.json`)!;

/** schema names whose output was validated: a command's result, or its error document */
const covered = new Set<string>();

/**
 * Runs `orx ARGS --json` in the workspace, expects `code`, and validates stdout against the
 * command's result schema (exit 0..2, 6, 130 with a result) or the error schema.
 */
async function json(args: string[], o: {code?: number; schema?: string; error?: boolean} = {}): Promise<Record<string, unknown>> {
  const r = await orx([...args, '--json'], {cwd: ws.dir});
  const code = o.code ?? 0;
  expect(r.code, `orx ${args.join(' ')} --json\n${r.stdout}\n${r.stderr}`).toBe(code);
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  const name =
    o.schema ??
    args
      .filter((a) => !a.startsWith('-'))
      .slice(
        0,
        ['audit', 'dr', 'egress', 'history', 'image', 'keys', 'policy', 'render', 'secrets', 'state', 'token'].includes(args[0]) ? 2 : 1,
      )
      .join('-');
  const validate = validator(o.error ? 'error' : name);
  expect(validate(doc), `orx ${args.join(' ')} --json against ${o.error ? 'error' : name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  covered.add(name);
  if (o.error) covered.add('error');
  return doc;
}

describe('--json results match their schemas', () => {
  it('every command, through the real CLI and engine', {timeout: 180_000}, async () => {
    // configuration, keys and a saved plan
    await json(['init', 'scaffold']);
    // the scaffold's example rule and its test case, as a workspace of its own would have them
    fs.cpSync(path.join(ws.dir, 'scaffold/policies'), path.join(ws.dir, 'policies'), {recursive: true});
    await json(['keys', 'init']);
    // read-only commands run side by side: the test stays well inside its time on a loaded machine
    await Promise.all([json(['validate']), json(['secrets', 'check']), json(['keys', 'show']), json(['version']), json(['graph'])]);
    // what the shell completion scripts ask for and source
    await Promise.all([json(['__complete', 'addresses']), json(['autocomplete', 'script', 'bash'], {schema: 'autocomplete-script'})]);
    await json(['plan']);
    await json(['plan', '-out', 'plans/p.json']);
    await Promise.all([
      json(['show', 'plans/p.json']),
      json(['simulate', 'plans/p.json', '--iterations', '50']),
      json(['policy', 'eval', '--plan', 'plans/p.json']),
      json(['policy', 'test']),
    ]);
    await json(['approve', 'plans/p.json', '--all', '--reason', 'schema test']);
    const applied = await json(['apply', 'plans/p.json']);
    expect(applied.status).toBe('succeeded');

    // the state and the ledger
    const [runs] = await Promise.all([
      json(['runs']).then((d) => d.runs as Array<{id: string}>),
      json(['state', 'list']),
      json(['state', 'show', 'agent.alpha']),
      json(['show']),
      json(['events', '--limit', '5']),
      json(['egress', 'log']),
    ]);
    await json(['runs', runs[0].id]);
    await json(['output']);
    ws.write(BASE_YAML.replace('LOG_LEVEL: info', 'LOG_LEVEL: debug'));
    await json(['apply', '--auto-approve']);
    const snapshots = (await json(['history'])).snapshots as Array<{id: string}>;
    expect(snapshots).toHaveLength(2);
    await json(['history', 'diff', snapshots[1].id, snapshots[0].id]);

    // the audit trail and signing
    await Promise.all([json(['audit', 'head']), json(['audit', 'head', '--signed']), json(['audit', 'verify'])]);
    await json(['audit', 'export', '-o', 'audit.json']);
    await json(['audit', 'verify-bundle', 'audit.json']);
    fs.writeFileSync(path.join(ws.dir, 'blob.txt'), 'signed by the schema test\n');
    await json(['sign-blob', 'blob.txt', '--bundle', 'blob.sigstore.json']);
    await json(['verify-blob', 'blob.txt', '--bundle', 'blob.sigstore.json']);
    // the second apply replaced the container: its token is the one to check
    const agent = (await json(['state', 'show', 'agent.alpha'])).resource as {object_id: string};
    const token = await execIn(agent.object_id, ['cat', '/run/secrets/orx-token']);
    expect(token.code, token.out).toBe(0);
    fs.writeFileSync(path.join(ws.dir, 'token.jwt'), token.out, {mode: 0o600});
    const check = await json(['token', 'verify', 'token.jwt']);
    expect(check.valid).toBe(true);
    await json(['token', 'revoke', String(check.jti), '--reason', 'schema test']);

    await Promise.all([
      // no cluster here: the workspace kubeconfig's path, and a Docker agent refused by render
      json(['kubeconfig']),
      json(['render', 'agent', 'alpha'], {code: 1, error: true}),
      // no lock to remove, and no registry to sign in (port 1 refuses at once)
      json(['force-unlock', 'lock-none', '--reason', 'schema test'], {code: 1, error: true}),
      json(['image', 'sign', '127.0.0.1:1/none:1'], {code: 1, error: true}),
      json(['schema', '--list']),
    ]);

    // forget and adopt again
    const removed = (await json(['state', 'rm', 'volume.memory'])).removed as {object_id: string};
    await json(['import', 'volume.memory', removed.object_id]);
    // a move said, not done: the rest of the test goes on with volume.memory
    await json(['state', 'mv', 'volume.memory', 'volume.kept', '--dry-run']);

    // the kill switch and back
    await json(['halt', '--reason', 'schema test']);
    await json(['resume', '--reason', 'schema test', '--auto-approve']);

    // disaster recovery: a backup applied, listed and verified; restore and prune saved as plans
    await json(['dr', 'backup', '--auto-approve']);
    const backups = (await json(['dr', 'list'])).backups as Array<{id: string}>;
    await json(['dr', 'verify', backups[0].id]);
    await json(['dr', 'restore', backups[0].id, '-out', 'plans/restore.json']);
    await json(['dr', 'prune', '--keep', '1', '-out', 'plans/prune.json']);

    // a deletion always needs a human (approve-destroy) and nothing is asked without a terminal;
    // its result is the apply's, validated above
    await json(['destroy', '--auto-approve'], {code: 3, error: true});

    expect([...covered].sort()).toEqual(resultSchemaNames());
  });
});
