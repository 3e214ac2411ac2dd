// The pieces of a volume's hand-over that need no engine: reading a root's owner from the
// start of an archive, the owner image's archive, the volume plan, and who owns a volume.
import {describe, expect, it} from 'vitest';
import {parseConfig} from '../../src/config/load.js';
import {buildDesired} from '../../src/engine/desired.js';
import type {ResourceRecord} from '../../src/ledger/types.js';
import {decideOwner, ownerSpec, type RwMounter} from '../../src/config/volume-owners.js';
import {ownerImageArchive} from '../../src/drivers/owner-image.js';
import {volumeAction} from '../../src/resources/volume.js';
import {rootOf} from '../../src/resources/volume-owner.js';
import {HARDENING} from '../../src/resources/agent/attrs.js';
import {SECRETS_MOUNT, TMP_MOUNT} from '../../src/config/mounts.js';
import {SECRETS_MOUNT as DELIVERED_AT} from '../../src/config/mounts.js';

function header(name: string, o: {uid?: number; gid?: number; size?: number; type?: string; rawUid?: Buffer} = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'latin1');
  const octal = (n: number, off: number, len: number) => b.write(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
  octal(0o755, 100, 8);
  if (o.rawUid) o.rawUid.copy(b, 108);
  else octal(o.uid ?? 0, 108, 8);
  octal(o.gid ?? 0, 116, 8);
  octal(o.size ?? 0, 124, 12);
  b.write(o.type ?? '5', 156, 1, 'latin1');
  return b;
}

const END = Buffer.alloc(1024);
const padTo512 = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

describe('rootOf', () => {
  it("reads the root's owner and whether an entry follows it", () => {
    expect(rootOf(Buffer.concat([header('v/', {uid: 1000, gid: 1001}), END]))).toEqual({owner: '1000:1001', empty: true});
    expect(rootOf(Buffer.concat([header('v/', {uid: 0, gid: 0}), header('v/f', {type: '0'})]))).toEqual({owner: '0:0', empty: false});
  });

  it('waits for the next header unless the stream ended', () => {
    const root = header('v/', {uid: 5, gid: 6});
    expect(rootOf(root)).toBeNull();
    expect(rootOf(root, true)).toEqual({owner: '5:6', empty: true});
    expect(rootOf(Buffer.alloc(100))).toBeNull();
  });

  it('takes PAX uid/gid records and GNU base-256 ids', () => {
    const records = Buffer.from('16 uid=3000000\n16 gid=3000001\n');
    const pax = Buffer.concat([
      header('PaxHeaders/v', {type: 'x', size: records.length}),
      padTo512(records),
      header('v/', {uid: 0, gid: 0}),
      END,
    ]);
    expect(rootOf(pax)).toEqual({owner: '3000000:3000001', empty: true});
    const big = Buffer.from([0x80, 0, 0, 0, 0, 0x2d, 0xc6, 0xc0]); // 3000000
    expect(rootOf(Buffer.concat([header('v/', {rawUid: big, gid: 7}), END]))).toEqual({owner: '3000000:7', empty: true});
  });
});

describe('the owner image', () => {
  it('is the same bytes every time (so the same image id), and differs per uid:gid', () => {
    expect(ownerImageArchive(1000, 1000).equals(ownerImageArchive(1000, 1000))).toBe(true);
    expect(ownerImageArchive(1000, 1000).equals(ownerImageArchive(1000, 2000))).toBe(false);
  });
});

describe('who owns a volume', () => {
  const m = (agent: string, user: string | null | undefined): RwMounter => ({agent, user, path: ['agents', agent, 'volumes', 0]});
  const vol = (owner: string | null = null) => ({labels: {}, backup: false, quiesce: 'pause' as const, owner});

  it('the agents that mount it read-write, when they agree', () => {
    expect(decideOwner(vol(), [])).toEqual({kind: 'none'});
    expect(decideOwner(vol(), [m('a', '1000:1000'), m('b', '1000')])).toEqual({kind: 'known', owner: '1000:1000'});
    expect(decideOwner(vol(), [m('a', '')])).toEqual({kind: 'known', owner: '0:0'});
    expect(decideOwner(vol(), [m('a', '1000'), m('b', undefined)])).toEqual({kind: 'at-apply'});
    expect(decideOwner(vol(), [m('a', 'agent')])).toEqual({kind: 'at-apply'});
    expect(decideOwner(vol(), [m('a', '1000'), m('b', '2000')])).toMatchObject({
      kind: 'conflict',
      first: {agent: 'a', owner: '1000:1000'},
      second: {agent: 'b', owner: '2000:2000'},
    });
  });

  it('volumes.X.owner wins', () => {
    expect(decideOwner(vol('3000'), [m('a', '1000'), m('b', '2000')])).toEqual({kind: 'known', owner: '3000:3000'});
    expect(ownerSpec('12:34')).toBe('12:34');
  });
});

describe('the volume plan', () => {
  const desired = (attrs: Record<string, unknown>) => ({
    address: 'volume.v',
    kind: 'volume' as const,
    name: 'v',
    depends_on: [],
    attributes: {name: 'orx-w-v', labels: {}, backup: false, ...attrs},
  });
  const observed = (attrs: Record<string, unknown>) => ({
    address: 'volume.v',
    kind: 'volume' as const,
    object_id: 'orx-w-v',
    attributes: {name: 'orx-w-v', labels: {}, backup: false, ...attrs},
  });

  it('a new volume is created for its owner', () => {
    expect(volumeAction.plan(desired({owner: '1000:1000'}), null)).toMatchObject({action: 'create', after: {owner: '1000:1000'}});
  });

  it('an existing one keeps the owner it has: never a change, never a replace', () => {
    const step = volumeAction.plan(desired({owner: '1000:1000'}), observed({owner: '0:0'}));
    expect(step).toMatchObject({action: 'noop', changes: [], after: {owner: '0:0'}});
    // recorded before volumes had owners: nothing to show
    expect(volumeAction.plan(desired({owner: '1000:1000'}), observed({}))).toMatchObject({action: 'noop', changes: []});
    expect(
      volumeAction.plan(desired({owner_from: [{agent: 'agent.a', user: null, image_ref: 'x'}]}), observed({owner: '5:5'})).after,
    ).toEqual({name: 'orx-w-v', labels: {}, backup: false, owner: '5:5'});
  });

  it('says when the owner is decided at apply', () => {
    const step = volumeAction.plan(
      desired({
        owner_from: [
          {agent: 'agent.a', user: null, image_ref: 'x'},
          {agent: 'agent.b', user: null, image_ref: 'y'},
        ],
      }),
      null,
    );
    expect(step.reasons).toEqual(['owner decided at apply: the uid agent.a, agent.b run as (not known before the image is on the engine)']);
  });

  it('a plan file cannot name a non-numeric owner', () => {
    expect(() => volumeAction.validate({name: 'v', labels: {}, backup: false, owner: 'root'})).toThrow(
      /owner" must be a numeric "uid:gid"/,
    );
  });
});

describe('the paths config keeps volumes away from', () => {
  it('are the ones orx mounts', () => {
    expect(TMP_MOUNT).toBe(HARDENING.tmpfs);
    expect(SECRETS_MOUNT).toBe(DELIVERED_AT);
  });
});

describe('desired volumes', () => {
  const DIR = '/nonexistent-orx-workspace';
  const desired = (yaml: string, recorded = new Map<string, ResourceRecord>()) => {
    const config = parseConfig(yaml, DIR);
    return buildDesired({
      loaded: {dir: DIR, file: `${DIR}/orchestration.yml`, file_digest: 'x', config},
      recorded,
      localImage: () => ({id: 'sha256:abc'}),
    }).resources;
  };
  const head = 'workspace: lab\nnetworks:\n  n: {}\nvolumes:\n  v:\nimages:\n  tool: {ref: "example/tool:1"}\nagents:\n';

  it("carry the owner the agents' user gives, or the agents that decide it at apply", () => {
    const known = desired(
      `${head}  a:\n    image: tool\n    user: "1000"\n    volumes: ["v:/v"]\n  r:\n    image: tool\n    volumes: ["v:/r:ro"]\n`,
    ).find((r) => r.address === 'volume.v')!;
    expect(known).toMatchObject({attributes: {owner: '1000:1000'}, depends_on: []});
    const late = desired(`${head}  a:\n    image: tool\n    volumes: ["v:/v"]\n`).find((r) => r.address === 'volume.v')!;
    expect(late).toMatchObject({
      attributes: {owner_from: [{agent: 'agent.a', user: null, image_ref: 'sha256:abc'}]},
      depends_on: ['image.tool'],
    });
    expect(late.attributes.owner).toBeUndefined();
    expect(desired(`${head}  a:\n    image: tool\n`).find((r) => r.address === 'volume.v')!.attributes).toEqual({
      name: 'orx-lab-v',
      labels: {},
      backup: false,
    });
  });

  it("refuse a network the state binds to one of Docker's own", () => {
    const rec: ResourceRecord = {
      address: 'network.n',
      kind: 'network',
      attributes: {name: 'host', internal: false, labels: {}},
      object_id: 'abc',
      secret_fingerprints: {},
      serial: 1,
      updated_at: '',
    };
    expect(() => desired(head, new Map([['network.n', rec]]))).toThrow(
      /network\.n: the state binds it to Docker's own network "host".*orx state rm network\.n/,
    );
  });
});
