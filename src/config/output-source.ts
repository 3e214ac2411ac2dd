// What `orx output` reads of orchestration.yml, without loading (and checking) the whole file.
import {resolve} from 'node:path';
import {configInvalid, Problems} from './diagnostics.js';
import {CONFIG_FILE, loadConfig, MAX_CONFIG_BYTES} from './load.js';
import {readOutputs} from './outputs.js';
import {rec, str} from './raw.js';
import type {OutputDecl} from './types.js';
import {readDeclarations, resolveVariables, type VariableInputs} from './variables.js';
import {documentData, parseYaml} from './yaml-source.js';
import {readBoundedFile} from '../util/bounded-file.js';

export interface OutputSource {
  workspace: string;
  outputs: Record<string, OutputDecl>;
  /** the variables that have a value now (defaults, ORX_VAR_); one without is absent */
  variables: Record<string, unknown>;
}

/**
 * What `orx output` needs of orchestration.yml: the output expressions, the workspace name and
 * the variables' values. Read on its own, like `terraform output`: the rest of the file is not
 * checked, and a required variable without a value only fails the outputs that read it.
 */
export function readOutputSource(dir: string, vars?: VariableInputs): OutputSource {
  const file = resolve(dir, CONFIG_FILE);
  let text: string;
  try {
    text = readBoundedFile(file, MAX_CONFIG_BYTES, {label: CONFIG_FILE})
      .toString('utf8')
      .replace(/^\uFEFF/, '');
  } catch {
    // the full loader says precisely what is wrong with the file
    loadConfig(dir);
    throw new Error(`cannot read ${file}`);
  }
  const parsed = parseYaml(text);
  const data = parsed.ok ? documentData(parsed.source.doc) : undefined;
  const raw = data?.ok ? rec(data.data) : undefined;
  if (!raw) throw configInvalid([{file: CONFIG_FILE, message: `${CONFIG_FILE} cannot be read as a YAML mapping; run \`orx validate\``}]);
  const ignored = new Problems();
  const {values} = resolveVariables(readDeclarations(raw.variables, ignored), vars, dir, ignored);
  return {workspace: str(raw.workspace) ?? '', outputs: readOutputs(raw.outputs), variables: values};
}
