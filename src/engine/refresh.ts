import type Dockerode from 'dockerode';
import {labelFilter, type Docker} from '../drivers/docker.js';
import type {ResourceRecord} from '../ledger/types.js';
import type {LocalImage} from './desired.js';
import {repositoryOf} from '../drivers/registry/reference.js';
import {LABEL} from '../util/labels.js';
import {clusterOwner, KIND_CLUSTER_LABEL, KIND_ROLE_LABEL} from '../resources/cluster.js';
import type {Attrs, DesiredResource, ObservedResource, ResourceKind} from '../resources/types.js';
import {networkSubnet} from '../resources/network.js';
import {gatewayConfigHash, type GatewayAttrs} from '../egress/attrs.js';

/** Raw lists from the engine: one call per object type, whatever the number of resources. */
export interface Snapshot {
  containers: Dockerode.ContainerInfo[];
  networks: Dockerode.NetworkInspectInfo[];
  volumes: Dockerode.VolumeInspectInfo[];
  images: Dockerode.ImageInfo[];
  /** every image on the engine; fetched only when the workspace has `ref` images */
  allImages: Dockerode.ImageInfo[];
  /** every kind node container on the engine; fetched only when the workspace has clusters */
  kindNodes: Dockerode.ContainerInfo[];
  workspace: string;
  cpus: number;
  /** IPv4 subnets of every network on the engine (fetched only for a workspace with egress links): links avoid them */
  takenSubnets: string[];
}

export async function takeSnapshot(
  docker: Docker,
  workspace: string,
  recorded: ResourceRecord[],
  wantAllImages: boolean,
  wantKindNodes = false,
  wantAllNetworks = false,
): Promise<Snapshot> {
  const filters = labelFilter({[LABEL.workspace]: workspace});
  const [containers, networks, volumeList, images, allImages, kindNodes, info, allNetworks] = await Promise.all([
    docker.listContainers({all: true, filters}),
    docker.listNetworks({filters}),
    docker.listVolumes({filters}),
    docker.listImages({filters}),
    wantAllImages ? docker.listImages() : Promise.resolve([]),
    wantKindNodes ? docker.listContainers({all: true, filters: {label: [KIND_CLUSTER_LABEL]}}) : Promise.resolve([]),
    docker.info() as Promise<{NCPU: number}>,
    wantAllNetworks ? docker.listNetworks() : Promise.resolve([]),
  ]);
  const volumes = volumeList.Volumes ?? [];
  // imported objects carry no orx labels: one more filtered call per type, only when
  // the ledger binds an address to an object the labelled lists did not return
  const missing = (kind: string, seen: Set<string>) =>
    recorded.filter((r) => r.kind === kind && r.object_id && !seen.has(r.object_id)).map((r) => r.object_id!);
  const mc = missing('agent', new Set(containers.map((c) => c.Id)));
  const mn = missing('network', new Set(networks.map((n) => n.Id)));
  const mv = missing('volume', new Set(volumes.map((v) => v.Name)));
  const [extraC, extraN, extraV] = await Promise.all([
    mc.length ? docker.listContainers({all: true, filters: {id: mc}}) : Promise.resolve([]),
    mn.length ? docker.listNetworks({filters: {id: mn}}) : Promise.resolve([]),
    mv.length ? docker.listVolumes({filters: {name: mv}}) : Promise.resolve({Volumes: []}),
  ]);
  return {
    containers: [...containers, ...extraC],
    networks: [...networks, ...extraN.filter((n) => mn.includes(n.Id))],
    // the name filter matches substrings
    volumes: [...volumes, ...(extraV.Volumes ?? []).filter((v) => mv.includes(v.Name))],
    images,
    allImages,
    kindNodes,
    workspace,
    cpus: info.NCPU,
    takenSubnets: allNetworks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '')).filter((x) => x.includes('.')),
  };
}

function findLocalImage(snapshot: Snapshot, ref: string, id?: unknown): Dockerode.ImageInfo | undefined {
  return snapshot.allImages.find(
    (i) => i.Id === id || i.Id === ref || (i.RepoTags ?? []).includes(ref) || (i.RepoDigests ?? []).includes(ref),
  );
}

export function localImageIndex(snapshot: Snapshot): (ref: string) => LocalImage | null {
  return (ref) => {
    const img = findLocalImage(snapshot, ref);
    // ImageInfo lacks Config.User: left unknown, checked at container create
    return img ? {id: img.Id} : null;
  };
}

function userLabels(labels: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !k.startsWith('io.orchestrix.')));
}

export interface Observation {
  observed: Map<string, ObservedResource>;
  /** objects with this workspace's labels that neither the ledger nor the config accounts for */
  orphans: Array<{kind: ResourceKind; address: string; object_id: string; name: string; step_key: string | null}>;
}

/**
 * Turns the lists into attributes comparable with the ledger's. Containers list no
 * config, so their forcing attributes are recognised by the config-hash label they
 * were created with: equal to the desired or recorded hash means those attributes.
 */
export function observe(
  snapshot: Snapshot,
  recorded: Map<string, ResourceRecord>,
  desired: Map<string, DesiredResource>,
  forgotten: ReadonlySet<string>,
): Observation {
  const observed = new Map<string, ObservedResource>();
  const orphans: Observation['orphans'] = [];
  const byObjectId = new Map([...recorded.values()].filter((r) => r.object_id).map((r) => [r.object_id!, r.address]));
  const liveContainers = new Set(snapshot.containers.map((c) => c.Id));
  const put = (
    kind: ResourceKind,
    labels: Record<string, string> | undefined,
    id: string,
    name: string,
    attrs: (address: string) => Attrs,
  ): void => {
    const labelled = labels?.[LABEL.address];
    // containers inherit their image's labels: an address of another kind is not theirs
    const ownLabel = labelled?.startsWith(`${kind}.`) ? labelled : undefined;
    const bound = byObjectId.get(id);
    if (!bound && !ownLabel) return;
    if (forgotten.has(id)) {
      orphans.push({kind, address: ownLabel ?? '?', object_id: id, name, step_key: null});
      return;
    }
    // a second container of a recorded agent (a blue-green step cut short) is the interrupted step's
    const boundElsewhere = !bound && kind === 'agent' && ownLabel ? recorded.get(ownLabel)?.object_id : undefined;
    if (boundElsewhere && boundElsewhere !== id && liveContainers.has(boundElsewhere)) {
      orphans.push({kind, address: ownLabel!, object_id: id, name, step_key: labels?.[LABEL.step] ?? null});
      return;
    }
    const address = bound ?? (recorded.has(ownLabel!) || desired.has(ownLabel!) ? ownLabel : undefined);
    if (!address) {
      orphans.push({kind, address: ownLabel!, object_id: id, name, step_key: labels?.[LABEL.step] ?? null});
      return;
    }
    observed.set(address, {address, kind, object_id: id, attributes: attrs(address)});
  };

  for (const n of snapshot.networks) {
    put('network', n.Labels, n.Id, n.Name, (address) => ({
      name: n.Name,
      internal: n.Internal ?? false,
      labels: userLabels(n.Labels),
      // compared only where the record has it: a record made before subnets were kept is not drift
      ...(recorded.get(address)?.attributes.subnet !== undefined ? {subnet: networkSubnet(n)} : {}),
    }));
  }
  for (const v of snapshot.volumes) {
    put('volume', v.Labels ?? undefined, v.Name, v.Name, (address) => {
      // the root's owner is not in the list: as recorded (engine/volume-owners.ts reads it when that is not enough)
      const owner = recorded.get(address)?.attributes.owner;
      return {
        name: v.Name,
        labels: userLabels(v.Labels ?? undefined),
        backup: Boolean(recorded.get(address)?.attributes.backup ?? desired.get(address)?.attributes.backup ?? false),
        ...(owner !== undefined ? {owner} : {}),
      };
    });
  }

  // several builds of one image may exist; the one matching the desired context wins
  const imagesByAddress = new Map<string, Dockerode.ImageInfo[]>();
  for (const img of snapshot.images) {
    const a = img.Labels?.[LABEL.address];
    if (a) (imagesByAddress.get(a) ?? imagesByAddress.set(a, []).get(a)!).push(img);
  }
  for (const [address, imgs] of imagesByAddress) {
    const want = desired.get(address)?.attributes;
    const rec = recorded.get(address)?.attributes;
    const pick =
      imgs.find((i) => i.Labels?.[LABEL.contextDigest] === want?.context_digest) ??
      imgs.find((i) => i.Labels?.[LABEL.contextDigest] === rec?.context_digest) ??
      imgs.sort((a, b) => b.Created - a.Created)[0];
    const digest = pick.Labels?.[LABEL.contextDigest];
    put('image', pick.Labels, pick.Id, pick.RepoTags?.[0] ?? pick.Id, () => {
      if (want && digest === want.context_digest) return want;
      if (rec && digest === rec.context_digest) return rec;
      return {...(rec ?? {}), source: 'build', tag: pick.RepoTags?.[0] ?? '(untagged)', context_digest: digest ?? '(unknown)'};
    });
  }
  const refs = [...desired.values(), ...recorded.values()].filter((r) => r.attributes.source === 'ref');
  for (const address of new Set(refs.map((r) => r.address))) {
    const ref = String(desired.get(address)?.attributes.ref ?? recorded.get(address)?.attributes.ref);
    const digest = desired.get(address)?.attributes.digest as string | undefined;
    const img = findLocalImage(snapshot, digest ? `${repositoryOf(ref)}@${digest}` : ref, recorded.get(address)?.attributes.id);
    if (!img) continue;
    // the digest the engine holds the image under, when the plan pins one
    const held = digest ? ((img.RepoDigests ?? []).find((d) => d.startsWith(`${repositoryOf(ref)}@`))?.split('@')[1] ?? null) : undefined;
    observed.set(address, {
      address,
      kind: 'image',
      object_id: img.Id,
      attributes: {source: 'ref', ref, id: img.Id, ...(held !== undefined ? {digest: held} : {})},
    });
  }

  observeClusters(snapshot, recorded, desired, put);

  for (const c of snapshot.containers) {
    const name = (c.Names?.[0] ?? '').replace(/^\//, '');
    if (c.Labels?.[LABEL.address]?.startsWith('gateway.') || recorded.get(byObjectId.get(c.Id) ?? '')?.kind === 'gateway') {
      put('gateway', c.Labels, c.Id, name, (address) =>
        observeGateway(c, name, recorded.get(address)?.attributes, desired.get(address)?.attributes),
      );
      continue;
    }
    put('agent', c.Labels, c.Id, name, (address) => {
      const want = desired.get(address)?.attributes;
      const rec = recorded.get(address)?.attributes;
      const hash = c.Labels?.[LABEL.configHash] ?? (rec?.config_hash as string | undefined);
      const base =
        want && hash === want.config_hash
          ? {
              ...withoutGatewayBookkeeping(want),
              ...pick(rec, ['cpus', 'memory_bytes', 'pids_limit', 'secrets', 'token', 'egress_allow', 'talks_to']),
            }
          : rec && hash === rec.config_hash
            ? rec
            : {...(rec ?? {}), name, config_hash: hash ?? '(unknown)'};
      // its link to the egress gateway is its own attribute, not one of the workspace networks it joins
      const link = (base as {link?: {network?: string}}).link?.network;
      const attached = Object.keys(c.NetworkSettings?.Networks ?? {});
      const networks = attached.filter((n) => n !== 'none' && n !== link).sort();
      // taken off its link (by hand): drift, which a replace puts right; a running container only,
      // since a stopped one is listed without its networks
      if (link && c.State === 'running' && !attached.includes(link)) {
        const {link: _gone, ...rest} = base as Attrs;
        return {...rest, networks, running: true};
      }
      return {...base, networks, running: c.State === 'running'};
    });
  }
  return {observed, orphans};
}

/**
 * The gateway's container shows its image and networks (the hash label); what squid was last
 * told (allowlists, links) is as recorded: only orx writes it, under .orx.
 */
function observeGateway(c: Dockerode.ContainerInfo, name: string, rec: Attrs | undefined, want: Attrs | undefined): Attrs {
  const hash = c.Labels?.[LABEL.configHash];
  const same = (a: Attrs | undefined) =>
    a !== undefined && hash === gatewayConfigHash(a as Pick<GatewayAttrs, 'name' | 'image' | 'uplinks'>);
  const base = same(rec)
    ? rec!
    : same(want)
      ? {...want!, agents: rec?.agents ?? want!.agents, config_digest: rec?.config_digest ?? ''}
      : {...(rec ?? {}), name, image: '(unknown)'};
  return {...base, running: c.State === 'running'};
}

type Put = (
  kind: ResourceKind,
  labels: Record<string, string> | undefined,
  id: string,
  name: string,
  attrs: (address: string) => Attrs,
) => void;

/**
 * kind clusters from their node containers: the owner mount says whose they are; the node
 * roles are what Docker shows of the config, the rest is recognised by the config hash.
 */
function observeClusters(snapshot: Snapshot, recorded: Map<string, ResourceRecord>, desired: Map<string, DesiredResource>, put: Put): void {
  const byCluster = new Map<string, Dockerode.ContainerInfo[]>();
  for (const n of snapshot.kindNodes) {
    const name = n.Labels?.[KIND_CLUSTER_LABEL];
    if (name) (byCluster.get(name) ?? byCluster.set(name, []).get(name)!).push(n);
  }
  for (const [name, nodes] of byCluster) {
    const owner = clusterOwner(nodes);
    const ours = owner && owner.workspace === snapshot.workspace;
    const labels = ours && owner.address.startsWith('cluster.') ? {[LABEL.address]: owner.address, [LABEL.step]: owner.step} : undefined;
    put('cluster', labels, name, name, (address) => {
      const want = desired.get(address)?.attributes;
      const rec = recorded.get(address)?.attributes;
      const hash = owner?.config_hash ?? rec?.config_hash;
      // how long kind waited and whether the context was exported are not to be seen in Docker: as recorded
      const base =
        want && hash === want.config_hash
          ? {...want, ...pick(rec, ['wait_ms', 'export_kubeconfig'])}
          : rec && hash === rec.config_hash
            ? rec
            : {...(rec ?? {}), name, config_hash: '(unknown)'};
      const roles = nodes.map((n) => n.Labels?.[KIND_ROLE_LABEL] ?? '?');
      return {...base, nodes: [...roles.filter((r) => r === 'control-plane'), ...roles.filter((r) => r !== 'control-plane')]};
    });
  }
}

/** What the gateway enforces for an agent is as recorded: the container shows none of it. */
function withoutGatewayBookkeeping(a: Attrs): Attrs {
  const {egress_allow: _allow, talks_to: _talks, ...rest} = a;
  return rest;
}

function pick(a: Attrs | undefined, keys: string[]): Attrs {
  if (!a) return {};
  return Object.fromEntries(keys.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
}
