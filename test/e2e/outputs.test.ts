// Outputs through the built CLI: evaluated over what the ledger recorded, printed at the end of
// an apply and by `orx output` (which never needs the engine); and a saved plan made with other
// variable values is stale.
import {Ajv} from 'ajv';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {AJV_OPTIONS, readPublishedSchema, readResultSchema, resultSchemaNames} from '../../src/config/schema.js';
import {noStack, orx} from '../helpers/cli.js';
import {freePort} from '../helpers/http.js';
import {docker, makeWorkspace, SLEEP_CMD, type TestWorkspace} from '../helpers/workspace.js';

let ws: TestWorkspace;
beforeEach(() => {
  ws = makeWorkspace('outputs');
});
afterEach(async () => {
  await ws.cleanup();
});

const ajv = new Ajv({...AJV_OPTIONS, allErrors: true});
ajv.addSchema(readPublishedSchema('plan'));
for (const n of resultSchemaNames()) ajv.addSchema(readResultSchema(n)!);
const schema = (name: string) => ajv.getSchema(`https://orchestrix.dev/schemas/results/${name}.schema.json`)!;

const YAML = `workspace: __WS__
autonomy: 3
variables:
  web_port: {type: number, validation: {condition: "var.web_port > 1024", message: "an unprivileged port"}}
  cmd: {type: list, default: ${SLEEP_CMD}}
networks:
  edge: {internal: false}
images:
  base: {build: {context: images/agent-base}}
agents:
  web:
    image: base
    command: "\${var.cmd}"
    resources: {cpus: 0.1, memory: 32m}
    networks: [edge]
    ports: [{container: 8080, host: "\${var.web_port}"}]
outputs:
  web_url: {value: 'agent.web.ports[0].url', description: where the web agent answers}
  web_url_built: {value: '"http://127.0.0.1:" + string(agent.web.ports[0].host)'}
  edge_network: {value: 'state.networks.edge.name'}
  edge_subnet: {value: 'network.edge.subnet'}
  port_given: {value: 'var.web_port'}
`;

interface Entry {
  name: string;
  value: unknown;
  type: string | null;
  error: string | null;
}

describe('outputs', () => {
  it(
    "an applied agent's URL from its published port; a plan made with other variable values is stale; orx output needs no engine",
    {timeout: 180_000},
    async () => {
      ws.write(YAML);
      const port = await freePort();
      const opts = {cwd: ws.dir};

      // nothing applied yet: each output says why, the command still succeeds; by name it fails
      const before = await orx(['output'], opts);
      expect(before.code, before.stderr).toBe(0);
      expect(before.stdout).toMatch(/^web_url += \(error: no "web" in the recorded state \(not applied yet\?\)\)$/m);
      const named = await orx(['output', 'web_url'], opts);
      expect(named.code).toBe(1);
      expect(named.stderr).toContain('output "web_url": no "web" in the recorded state');

      const plan = await orx(['plan', '-var', `web_port=${port}`, '-out', 'plans/p.json'], opts);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toContain(`Variables:\n  cmd      = ["/bin/sh","-c",`);
      expect(plan.stdout).toContain(`  web_port = ${port}\n`);
      expect((await orx(['approve', 'plans/p.json', '--all', '--reason', 'outputs test'], opts)).code).toBe(0);

      // the environment now says another port: applying the plan would not be what was asked
      const stale = await orx(['apply', 'plans/p.json'], {...opts, env: {ORX_VAR_web_port: String(port + 1)}});
      expect(stale.code, stale.stderr).toBe(5);
      expect(stale.stderr).toContain(`is stale: it was made with other variable values (var.web_port: ${port} then, ${port + 1} now)`);
      expect(noStack(stale.stderr)).toBe(true);

      const applied = await orx(['apply', 'plans/p.json', '--json'], opts);
      expect(applied.code, applied.stderr).toBe(0);
      const result = JSON.parse(applied.stdout) as {status: string; outputs: Entry[]};
      expect(schema('apply')(result), ajv.errorsText(schema('apply').errors)).toBe(true);
      expect(result.status).toBe('succeeded');
      const url = `http://127.0.0.1:${port}`;
      // the subnet Docker chose for the network, as the engine reports it
      const edge = await docker.getNetwork(`orx-${ws.name}-edge`).inspect();
      const subnet = (edge as {IPAM: {Config: {Subnet: string}[]}}).IPAM.Config[0].Subnet;
      expect(subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
      expect(result.outputs).toEqual([
        {name: 'web_url', description: 'where the web agent answers', value: url, type: 'string', error: null},
        {name: 'web_url_built', description: null, value: url, type: 'string', error: null},
        {name: 'edge_network', description: null, value: `orx-${ws.name}-edge`, type: 'string', error: null},
        {name: 'edge_subnet', description: null, value: subnet, type: 'string', error: null},
        {name: 'port_given', description: null, value: port, type: 'number', error: null},
      ]);

      // what the engine really published, and the command the list variable gave
      const [c] = await docker.listContainers({filters: {label: [`io.orchestrix.workspace=${ws.name}`]}});
      const inspect = await docker.getContainer(c.Id).inspect();
      expect(inspect.Config.Cmd).toEqual(JSON.parse(SLEEP_CMD));
      const published = inspect.NetworkSettings.Ports['8080/tcp']?.[0];
      expect(published?.HostIp).toBe('127.0.0.1');

      // by name, bare, from the ledger alone: the engine is unreachable and it still answers
      const offline = {...opts, env: {DOCKER_HOST: 'unix:///nonexistent/docker.sock'}};
      const raw = await orx(['output', 'web_url', '--raw'], offline);
      expect(raw.code, raw.stderr).toBe(0);
      expect(raw.stdout).toBe(`${url}\n`);
      expect(Number(new URL(raw.stdout.trim()).port)).toBe(Number(published?.HostPort));
      const all = await orx(['output', '--json'], offline);
      expect(all.code, all.stderr).toBe(0);
      const doc = JSON.parse(all.stdout) as {outputs: Entry[]};
      expect(schema('output')(doc), ajv.errorsText(schema('output').errors)).toBe(true);
      expect(doc.outputs.map((o) => [o.name, o.value])).toEqual([
        ['web_url', url],
        ['web_url_built', url],
        ['edge_network', `orx-${ws.name}-edge`],
        ['edge_subnet', subnet],
        ['port_given', port],
      ]);
      const human = await orx(['output'], offline);
      expect(human.stdout).toContain(`web_url       = "${url}"\n`);
      // the engine really is unreachable for that environment
      expect((await orx(['plan', '-var', `web_port=${port}`], offline)).code).toBe(1);

      // --raw wants one scalar output
      const noName = await orx(['output', '--raw'], opts);
      expect(noName.code).toBe(1);
      expect(noName.stderr).toContain('--raw needs the name of one output');
      const typo = await orx(['output', 'web_ulr'], opts);
      expect(typo.code).toBe(1);
      expect(typo.stderr).toContain('no output "web_ulr" in orchestration.yml (did you mean "web_url"?)');
    },
  );
});
