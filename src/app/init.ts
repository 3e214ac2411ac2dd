import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {publishedSchemaPath} from '../config/schema.js';
import {OrxError} from '../errors.js';

function templatesDir(): string {
  for (const rel of ['../../templates', '../../../templates']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (fs.existsSync(path.join(p, 'workspace'))) return p;
  }
  throw new Error('templates/ is missing from the installation');
}

export interface InitResult {
  dir: string;
  created: string[];
  notes: string[];
}

/** A busybox that runs on an empty base image: statically linked (no ELF interpreter). */
function staticBusybox(candidates: string[]): string | null {
  for (const p of candidates) {
    try {
      const head = Buffer.alloc(4096);
      const fd = fs.openSync(p, 'r');
      fs.readSync(fd, head, 0, head.length, 0);
      fs.closeSync(fd);
      if (head.subarray(0, 4).toString('latin1') === '\x7fELF' && !head.includes('/ld-linux') && !head.includes('/ld-musl')) return p;
    } catch {
      // not there
    }
  }
  return null;
}

/** Scaffolds a workspace; never overwrites a file that is already there. */
export function initWorkspace(dir: string): InitResult {
  const target = path.resolve(dir);
  const file = path.join(target, 'orchestration.yml');
  if (fs.existsSync(file)) {
    throw new OrxError({
      code: 'already_initialised',
      message: `${file} already exists`,
      actions: ['Edit it, or run `orx init` in an empty directory.'],
    });
  }
  const tpl = templatesDir();
  const created: string[] = [];
  const write = (rel: string, content: string | Buffer, mode = 0o644): void => {
    const p = path.join(target, rel);
    if (fs.existsSync(p)) return;
    fs.mkdirSync(path.dirname(p), {recursive: true});
    fs.writeFileSync(p, content, {mode});
    created.push(rel);
  };
  const name =
    path
      .basename(target)
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63) || 'workspace';
  const schemaRef = path.relative(target, publishedSchemaPath('config')).split(path.sep).join('/');
  write(
    'orchestration.yml',
    fs
      .readFileSync(path.join(tpl, 'workspace/orchestration.yml'), 'utf8')
      .replace('__NAME__', name)
      .replace('__SCHEMA__', schemaRef.startsWith('.') ? schemaRef : `./${schemaRef}`),
  );
  write('.gitignore', fs.readFileSync(path.join(tpl, 'workspace/gitignore')));
  // env:// secret references read the environment: direnv keeps them to this directory
  write('.envrc.example', fs.readFileSync(path.join(tpl, 'workspace/envrc.example')));
  // the baseline is built into orx; a workspace starts with an example rule of its own and its tests
  const policySchema = path.relative(path.join(target, 'policies'), publishedSchemaPath('policy')).split(path.sep).join('/');
  const shipped = path.join(tpl, '..', 'policies');
  for (const rel of ['example.yaml', 'tests/example_test.yaml']) {
    const text = fs.readFileSync(path.join(shipped, rel), 'utf8');
    write(
      `policies/${rel}`,
      rel === 'example.yaml'
        ? text.replace(/^# yaml-language-server: \$schema=.*$/m, `# yaml-language-server: $schema=${policySchema}`)
        : text,
    );
  }
  write('plans/.gitkeep', '');
  for (const f of fs.readdirSync(path.join(tpl, 'images/agent-base'))) {
    if (f !== 'busybox') write(`templates/images/agent-base/${f}`, fs.readFileSync(path.join(tpl, 'images/agent-base', f)));
  }
  const notes: string[] = [];
  // the starter image is registry-free: FROM scratch plus a static busybox from the host
  const busybox = staticBusybox([path.join(tpl, 'images/agent-base/busybox'), '/bin/busybox', '/usr/bin/busybox']);
  if (busybox) write('templates/images/agent-base/busybox', fs.readFileSync(busybox), 0o755);
  else
    notes.push(
      'templates/images/agent-base/ needs a static busybox binary (Debian/Ubuntu: apt-get install busybox-static, then cp /bin/busybox there).',
    );
  fs.mkdirSync(path.join(target, '.orx'), {recursive: true, mode: 0o700});
  return {dir: target, created, notes};
}
