import {engineMessage, followProgress, isNotFound} from '../drivers/docker.js';
import {buildImage} from '../drivers/image-build.js';
import {retryTransient} from '../drivers/engine-retry.js';
import {OrxError} from '../errors.js';
import {readBuildContext} from './build-context.js';
import {repositoryOf} from '../drivers/registry/reference.js';
import {bad, obj, str, strMap} from './check.js';
import {LABEL, ownLabels} from '../util/labels.js';
import {planByDiff} from './plan-helper.js';
import type {Action, ApplyContext, Attrs, PlannedStep, StepOutcome} from './types.js';

export interface BuiltImageAttrs extends Attrs {
  source: 'build';
  tag: string;
  context: string;
  context_digest: string;
  dockerfile: string;
  args: Record<string, string>;
  user: string | null;
}

export interface RefImageAttrs extends Attrs {
  source: 'ref';
  ref: string;
  /** the local image id the ref resolved to when planned; null = pull at apply */
  id: string | null;
  /** the registry digest its signature was verified for: pulled by digest, never by tag */
  digest?: string;
}

export type ImageAttrs = BuiltImageAttrs | RefImageAttrs;

export const imageAction: Action<ImageAttrs> = {
  kind: 'image',
  version: '1.0.0',
  safety: {category: 'WRITE', budget: {timeMs: 600_000, network: 'internet'}},
  // a new image never disturbs the old one: every change is a rebuild or re-pull in place
  updatable: new Set(['tag', 'context', 'context_digest', 'dockerfile', 'args', 'user', 'ref', 'id', 'digest']),
  computed: new Set(),

  validate(input) {
    const a = obj('image', input);
    if (a.source === 'build') {
      const user = a.user === null ? null : str('image', a, 'user');
      return {
        source: 'build',
        tag: str('image', a, 'tag'),
        context: str('image', a, 'context'),
        context_digest: str('image', a, 'context_digest'),
        dockerfile: str('image', a, 'dockerfile'),
        args: strMap('image', a, 'args'),
        user,
      };
    }
    if (a.source === 'ref') {
      const digest = a.digest === undefined ? undefined : str('image', a, 'digest');
      return {source: 'ref', ref: str('image', a, 'ref'), id: str('image', a, 'id', true), ...(digest ? {digest} : {})};
    }
    return bad('image', 'source', '"build" or "ref"');
  },

  plan(desired, base) {
    return planByDiff(this, desired, base, 'WRITE');
  },

  async apply(step, ctx) {
    if (step.action === 'delete') {
      await removeImage(step, ctx);
      return {object_id: null, attributes: null};
    }
    const after = imageAction.validate(step.after);
    const outcome = after.source === 'build' ? await build(after, step, ctx) : await pull(after, ctx);
    if (step.action !== 'create' && step.before?.source === 'build' && step.before.tag !== (after as BuiltImageAttrs).tag) {
      // the previous build is garbage once nothing runs it; keep it if something still does
      await removeTag(String(step.before.tag), ctx).catch(() => undefined);
    }
    return outcome;
  },

  async rollback(outcome, ctx) {
    if (outcome.attributes?.source === 'build') await removeTag(String(outcome.attributes.tag), ctx);
  },
};

async function removeImage(step: PlannedStep, ctx: ApplyContext): Promise<void> {
  // pulled images are shared with everything else on the host: orx only forgets them
  if (step.before?.source !== 'build') return;
  await removeTag(String(step.before.tag), ctx);
}

async function removeTag(tag: string, ctx: ApplyContext): Promise<void> {
  try {
    await ctx.docker.getImage(tag).remove();
  } catch (err) {
    if (!isNotFound(err)) throw new Error(`cannot remove image ${tag}: ${engineMessage(err)}`, {cause: err});
  }
}

async function build(after: BuiltImageAttrs, step: PlannedStep, ctx: ApplyContext): Promise<StepOutcome> {
  try {
    const existing = await ctx.docker.getImage(after.tag).inspect();
    if (existing.Config?.Labels?.[LABEL.contextDigest] === after.context_digest) {
      return {object_id: existing.Id, attributes: after, adopted: true};
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const contextPath = `${ctx.dir}/${after.context}`;
  const context = readBuildContext(contextPath, after.dockerfile, after.args);
  if (context.digest !== after.context_digest) {
    throw new OrxError({
      code: 'context_changed',
      message: `${step.address}: the build context ${after.context} changed since the plan was made`,
      actions: ['Run `orx plan` again to review the new image.'],
    });
  }
  try {
    await buildImage(
      ctx.docker,
      {context: contextPath, src: context.files},
      {
        t: after.tag,
        dockerfile: after.dockerfile,
        buildargs: after.args,
        labels: {...ownLabels(ctx.workspace, step.address, step.idempotency_key), [LABEL.contextDigest]: after.context_digest},
        rm: true,
        forcerm: true,
        abortSignal: ctx.signal,
      },
      {
        onRetry: (attempt, err) =>
          ctx.log.warn(
            `${step.address}: the engine failed the build over a concurrent change (${engineMessage(err).trim()}); trying again (${attempt + 1})`,
          ),
      },
    );
  } catch (err) {
    throw new Error(`image build failed: ${engineMessage(err).trim()}`, {cause: err});
  }
  const built = await ctx.docker.getImage(after.tag).inspect();
  return {object_id: built.Id, attributes: after};
}

/** What to do about a `ref:` image this machine does not have and cannot pull: said at plan and at apply. */
export function unavailableImageActions(ref: string): string[] {
  return [
    `Build it on this machine (\`docker build -t ${ref} DIR\`, or give the image \`build: {context: DIR}\` in orchestration.yml instead of \`ref:\`).`,
    `Or load it from an archive: \`docker load -i FILE.tar\`.`,
    `Or check the reference and the registry: \`docker pull ${ref}\` says what the engine sees (name, tag, network, \`docker login\`).`,
    'Then run `orx plan` again.',
  ];
}

async function pull(after: RefImageAttrs, ctx: ApplyContext): Promise<StepOutcome> {
  // a verified image is fetched by the digest its signature covers, then given its tag
  const source = after.digest ? `${repositoryOf(after.ref)}@${after.digest}` : after.ref;
  try {
    const local = await ctx.docker.getImage(after.id ?? source).inspect();
    return {object_id: local.Id, attributes: {...after, id: local.Id}, adopted: true};
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await retryTransient(async () => followProgress(ctx.docker, await ctx.docker.pull(source, {abortSignal: ctx.signal})), {
      signal: ctx.signal,
    });
  } catch (err) {
    throw new OrxError({
      code: 'image_unavailable',
      message: `cannot pull ${source}: ${engineMessage(err).trim()}`,
      actions: unavailableImageActions(after.ref),
      cause: err,
    });
  }
  const pulled = await ctx.docker.getImage(source).inspect();
  if (after.id && pulled.Id !== after.id) {
    throw new Error(`${source} resolved to ${pulled.Id}, not the ${after.id} that was planned`);
  }
  if (after.digest && source !== after.ref) {
    const repo = repositoryOf(after.ref);
    const tag = after.ref.split('@')[0].slice(repo.length + 1) || 'latest';
    await ctx.docker.getImage(pulled.Id).tag({repo, tag});
  }
  return {object_id: pulled.Id, attributes: {...after, id: pulled.Id}};
}
