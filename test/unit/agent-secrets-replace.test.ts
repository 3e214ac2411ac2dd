// The secrets of a replace, new container first: the old container keeps its files and token
// until its successor took over (retire), and a successor that did not take over leaves nothing
// (discard). Real files on a tmpfs root and a real ledger; no Docker.
import {generateKeyPairSync} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {agentSecretsPort} from '../../src/engine/agent-secrets.js';
import {Ledger} from '../../src/ledger/ledger.js';
import {listTokens} from '../../src/ledger/tokens.js';
import {isAgentSecretsDir, NEXT_SUFFIX} from '../../src/secrets/delivery.js';
import {workspaceKeyFromPem} from '../../src/trust/keys.js';

let dir: string;
let root: string;
let ledger: Ledger;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orx-secrets-replace-'));
  root = path.join(fs.mkdtempSync('/dev/shm/orx-test-'), 'orchestrix');
  ledger = Ledger.open(dir);
});
afterEach(() => {
  ledger.close();
  fs.rmSync(dir, {recursive: true, force: true});
  fs.rmSync(path.dirname(root), {recursive: true, force: true});
});

function port() {
  const {privateKey} = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
  const key = workspaceKeyFromPem(privateKey.export({type: 'pkcs8', format: 'pem'}).toString(), 'test key');
  const run = ledger.startRun({kind: 'apply', mode: 'APPLY', autonomy: 3, actor: 'test'});
  return agentSecretsPort({
    dir,
    workspace: 'ws',
    ledger,
    runId: run.id,
    actor: 'test',
    key,
    resolved: {values: new Map([['agent.web', {API_KEY: 'v'}]]), fingerprints: new Map()},
    root,
  });
}

const attrs = (name: string) => ({name, secrets: {API_KEY: 'env://X'}, token: {ttl_ms: 3_600_000, scopes: [], audience: 'orx'}});
const live = () => listTokens(ledger, {address: 'agent.web', live: true}).map((t) => t.jti);

describe('secrets of a replace, new container first', () => {
  it('retire: the old container files and tokens go once the successor took over; the successor keeps its own', async () => {
    const s = port();
    const user = `${process.getuid!()}:${process.getgid!()}`;
    await s.deliver('agent.web', attrs('orx-ws-web'), user);
    const [oldJti] = live();
    const next = `orx-ws-web${NEXT_SUFFIX}1a2b3c4d`;
    await s.deliver('agent.web', attrs(next), user);
    const newJti = live().find((j) => j !== oldJti)!;
    // until then both directories are there: the old one still runs with its files
    expect(fs.readFileSync(path.join(s.dirFor('orx-ws-web'), 'API_KEY'), 'utf8')).toBe('v');
    s.retire('agent.web', 'orx-ws-web', next, 'agent replaced', null);
    expect(fs.existsSync(s.dirFor('orx-ws-web'))).toBe(false);
    expect(fs.existsSync(path.join(s.dirFor(next), 'API_KEY'))).toBe(true);
    expect(live()).toEqual([newJti]);
    // the successor, renamed to the agent's name, still owns the directory it was created with
    expect(isAgentSecretsDir(s.dirFor(next), dir, 'ws', 'orx-ws-web')).toBe(true);
    expect(isAgentSecretsDir(s.dirFor(next), dir, 'ws', 'orx-ws-we')).toBe(false);
  });

  it('discard: a successor that did not take over leaves no files and no live token; the old one keeps both', async () => {
    const s = port();
    const user = `${process.getuid!()}:${process.getgid!()}`;
    await s.deliver('agent.web', attrs('orx-ws-web'), user);
    const before = live();
    const next = `orx-ws-web${NEXT_SUFFIX}5e6f7a8b`;
    await s.deliver('agent.web', attrs(next), user);
    s.discard(next, 'replace rolled back');
    expect(fs.existsSync(s.dirFor(next))).toBe(false);
    expect(fs.readFileSync(path.join(s.dirFor('orx-ws-web'), 'API_KEY'), 'utf8')).toBe('v');
    expect(live()).toEqual(before);
  });
});
