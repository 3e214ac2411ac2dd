// `orx version`: what is installed, in the line `orx --version` prints and as a document.

export interface VersionInfo {
  name: string;
  version: string;
  platform: string;
  arch: string;
  node: string;
  /** the one line `orx --version` prints */
  line: string;
}

export function versionInfo(name: string, version: string): VersionInfo {
  const line = `${name}/${version} ${process.platform}-${process.arch} node-${process.version}`;
  return {name, version, platform: process.platform, arch: process.arch, node: process.version, line};
}
