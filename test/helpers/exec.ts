// Running a command inside a test's container as its own user, output demultiplexed.
import {PassThrough} from 'node:stream';
import {docker} from './workspace.js';

export async function execIn(id: string, cmd: string[]): Promise<{code: number; out: string}> {
  const exec = await docker.getContainer(id).exec({Cmd: cmd, AttachStdout: true, AttachStderr: true});
  const stream = await exec.start({hijack: true, stdin: false});
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  docker.modem.demuxStream(stream, out, out);
  await new Promise((resolve) => stream.on('end', resolve));
  return {code: (await exec.inspect()).ExitCode ?? -1, out: text};
}

/** A shell script in the container; a non-zero exit fails the test with its output. */
export async function sh(id: string, script: string): Promise<string> {
  const r = await execIn(id, ['/bin/sh', '-c', script]);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.out}`);
  return r.out;
}
