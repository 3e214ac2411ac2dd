// Docker's predefined networks are the engine's, not a workspace's: an agent on `host` shares
// the machine's network stack, `bridge` is shared with every other container, and Docker
// refuses to start a container on `none` and another network at once.

const WHAT: Readonly<Record<string, string>> = {
  host: "Docker's host network (the machine's own network stack, no isolation)",
  bridge: "Docker's default bridge (shared with every container on the engine)",
  none: "Docker's `none` network",
};

const OWN_NETWORK =
  'declare a network of this workspace under `networks` (e.g. `backplane: {internal: true}`, or `internal: false` for a route out)';

export function isDockerNetwork(name: string): boolean {
  return Object.hasOwn(WHAT, name);
}

/**
 * What `name` is and what to do instead. `use`: where it was met — a workspace network's
 * key, an agent's `networks` entry, or an object given to `orx import`.
 */
export function dockerNetworkAdvice(name: string, use: 'key' | 'ref' | 'import'): string {
  const what = `"${name}" is ${WHAT[name] ?? 'a network orx does not manage'}, never a workspace resource`;
  if (use === 'key')
    return `${what}; give this network another name${name === 'none' ? ' (an agent with no network needs none declared: leave its `networks` out)' : ''}`;
  const noNetwork = 'for an agent with no network, leave its `networks` out (agents are on `none` by default)';
  if (use === 'import')
    return `${what}; orx creates this workspace's networks itself (plan and apply)${name === 'none' ? `, and ${noNetwork}` : ''}`;
  return `${what}; ${name === 'none' ? noNetwork : `${OWN_NETWORK} and list that`}`;
}
