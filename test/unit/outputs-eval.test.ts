// Output expressions over recorded state: what each kind offers, and one failing output leaving the others alone.
import {describe, expect, it} from 'vitest';
import {evaluateOutputs, outputContext} from '../../src/app/output.js';
import type {ResourceRecord} from '../../src/ledger/types.js';

const record = (address: string, attributes: Record<string, unknown>, object_id: string | null = null): ResourceRecord => ({
  address,
  kind: address.slice(0, address.indexOf('.')),
  attributes,
  object_id,
  secret_fingerprints: {},
  serial: 1,
  updated_at: '2026-01-01T00:00:00.000Z',
});

const records = [
  record(
    'agent.web',
    {
      ports: [
        {container: 8080, host: 18080, host_ip: '127.0.0.1', protocol: 'tcp'},
        {container: 53, host: 5353, host_ip: '::1', protocol: 'udp'},
      ],
    },
    'c1',
  ),
  record('network.edge', {name: 'orx-lab-edge', internal: false}, 'n1'),
  record('cluster.dev', {node_image: 'kindest/node@sha256:x'}),
];

describe('outputs over the recorded state', () => {
  it('ports have URLs, clusters their kubeconfig and context; state.KINDS reads the same; each output is typed', async () => {
    const context = outputContext('/ws', 'lab', records, {region: 'eu', sizes: [1, 2]});
    const out = await evaluateOutputs(
      {
        url: {value: 'agent.web.ports[0].url', description: null},
        udp: {value: 'agent.web.ports[1].url', description: null},
        id: {value: 'state.agents.web.id + "/" + network.edge.name', description: 'ids'},
        kube: {value: 'cluster.dev.kubeconfig', description: null},
        ctx: {value: 'cluster.dev.context', description: null},
        port: {value: 'agent.web.ports[0].host + 1', description: null},
        sizes: {value: 'var.sizes', description: null},
        where: {value: '{"region": var.region, "ws": workspace}', description: null},
        missing: {value: 'agent.api.ports[0].url', description: null},
        flag: {value: 'network.edge.internal', description: null},
      },
      context,
    );
    expect(Object.fromEntries(out.map((o) => [o.name, [o.value, o.type, o.error]]))).toEqual({
      url: ['http://127.0.0.1:18080', 'string', null],
      udp: ['udp://[::1]:5353', 'string', null],
      id: ['c1/orx-lab-edge', 'string', null],
      kube: ['/ws/.orx/kube/dev.kubeconfig', 'string', null],
      ctx: ['kind-orx-lab-dev', 'string', null],
      port: [18081, 'number', null],
      sizes: [[1, 2], 'list', null],
      where: [{region: 'eu', ws: 'lab'}, 'map', null],
      missing: [null, null, 'no "api" in the recorded state (not applied yet?)'],
      flag: [false, 'bool', null],
    });
    expect(out.find((o) => o.name === 'id')?.description).toBe('ids');
  });
});
