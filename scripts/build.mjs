// Compiles TypeScript and writes oclif.manifest.json (without it every start-up
// loads every command to learn its flags).
import {execFileSync, spawnSync} from 'node:child_process';
import {cpSync, mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
rmSync(`${root}/dist`, {recursive: true, force: true});
rmSync(`${root}/oclif.manifest.json`, {force: true});
execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${root}/tsconfig.json`], {stdio: 'inherit'});
// the built-in baseline policy and its tests ship beside the code that reads them
cpSync(`${root}/src/policy/builtin`, `${root}/dist/src/policy/builtin`, {recursive: true});

// the volume helper of `orx dr` (src/dr/helper.ts): a static binary, so the image made of
// it needs nothing else
const cc = process.env.CC ?? 'cc';
mkdirSync(`${root}/dist/dr-helper`, {recursive: true});
const helper = spawnSync(
  cc,
  [
    '-static',
    '-O2',
    '-Wall',
    '-Werror',
    '-o',
    `${root}/dist/dr-helper/orx-volume-helper`,
    `${root}/templates/dr-helper/orx-volume-helper.c`,
  ],
  {stdio: 'inherit'},
);
if (helper.error || helper.status !== 0) {
  console.error(
    `build: cannot compile templates/dr-helper/orx-volume-helper.c with "${cc} -static" (${helper.error?.message ?? `exit ${helper.status}`}). orx dr needs it: install a C compiler and a static libc (Debian/Ubuntu: apt-get install gcc libc6-dev), or set CC.`,
  );
  process.exit(1);
}

// the schema validators, compiled ahead of time (saves ~50 ms per command each)
const {compileSchema, precompiledFile} = await import(`${root}/dist/src/config/schema.js`);
const {default: standaloneCode} = await import('ajv/dist/standalone/index.js');
for (const which of ['config', 'policy', 'kind']) {
  const {ajv, validate} = compileSchema(which, {code: {source: true}});
  writeFileSync(`${root}/dist/src/config/${precompiledFile(which)}`, standaloneCode(ajv, validate));
}

const {Plugin} = await import('@oclif/core');
const plugin = new Plugin({root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true});
await plugin.load();
writeFileSync(`${root}/oclif.manifest.json`, JSON.stringify(plugin.manifest, null, 2) + '\n');
console.error(`built dist/ and oclif.manifest.json (${Object.keys(plugin.manifest.commands).length} commands)`);
