import {describe, expect, it} from 'vitest';
import {OrxError} from '../../src/errors.js';
import {formatReference, isLoopbackRegistry, parseReference, registryBaseUrl} from '../../src/drivers/registry/reference.js';

const H = 'e'.repeat(64);

describe('parseReference', () => {
  it.each([
    ['busybox', {registry: 'docker.io', repository: 'library/busybox', tag: 'latest'}],
    ['busybox:1.36', {registry: 'docker.io', repository: 'library/busybox', tag: '1.36'}],
    ['library/busybox', {registry: 'docker.io', repository: 'library/busybox', tag: 'latest'}],
    ['docker.io/busybox', {registry: 'docker.io', repository: 'library/busybox', tag: 'latest'}],
    ['index.docker.io/busybox:musl', {registry: 'docker.io', repository: 'library/busybox', tag: 'musl'}],
    ['example/tools', {registry: 'docker.io', repository: 'example/tools', tag: 'latest'}],
    ['ghcr.io/example/tools:1.4', {registry: 'ghcr.io', repository: 'example/tools', tag: '1.4'}],
    ['127.0.0.1:5000/test/x:1', {registry: '127.0.0.1:5000', repository: 'test/x', tag: '1'}],
    ['localhost/x', {registry: 'localhost', repository: 'x', tag: 'latest'}],
    ['localhost:5000/a/b/c:v1.0-rc_1', {registry: 'localhost:5000', repository: 'a/b/c', tag: 'v1.0-rc_1'}],
    ['[::1]:5000/x:2', {registry: '[::1]:5000', repository: 'x', tag: '2'}],
    ['Registry/x', {registry: 'Registry', repository: 'x', tag: 'latest'}],
    [`127.0.0.1:5000/test/x@sha256:${H}`, {registry: '127.0.0.1:5000', repository: 'test/x', digest: `sha256:${H}`}],
    [`127.0.0.1:5000/test/x:1@sha256:${H}`, {registry: '127.0.0.1:5000', repository: 'test/x', tag: '1', digest: `sha256:${H}`}],
    [`busybox@sha256:${H}`, {registry: 'docker.io', repository: 'library/busybox', digest: `sha256:${H}`}],
    [
      'my-registry.local:8443/team/app_name__x/svc-a.b:latest',
      {registry: 'my-registry.local:8443', repository: 'team/app_name__x/svc-a.b', tag: 'latest'},
    ],
  ])('%s', (ref, want) => {
    expect(parseReference(ref)).toEqual(want);
  });

  it('formats the canonical spelling back', () => {
    expect(formatReference(parseReference('busybox'))).toBe('docker.io/library/busybox:latest');
    expect(formatReference(parseReference(`127.0.0.1:5000/test/x:1@sha256:${H}`))).toBe(`127.0.0.1:5000/test/x:1@sha256:${H}`);
  });

  it.each([
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['ghcr.io/Example/tools', /lowercase/],
    ['x:', /tag "" is not valid/],
    ['x:-bad', /tag "-bad" is not valid/],
    [`x:${'t'.repeat(129)}`, /tag/],
    ['x@sha256:abc', /digest must be sha256/],
    [`x@sha512:${'a'.repeat(128)}`, /digest must be sha256/],
    [`x@sha256:${'A'.repeat(64)}`, /digest must be sha256/],
    ['ghcr.io/', /path component "" is not valid/],
    ['a//b', /path component "" is not valid/],
    ['a/-b', /path component "-b" is not valid/],
    ['host.io:99999/x', /port 99999 is out of range/],
    ['exa mple/x', /whitespace/],
    ['x\u0000y', /control characters/],
    [':1', /repository name is missing/],
    [`r.io/${'a'.repeat(260)}`, /longer than 255/],
  ])('refuses %j', (ref, re) => {
    expect(() => parseReference(ref)).toThrow(OrxError);
    expect(() => parseReference(ref)).toThrow(re);
  });

  it('a hostile reference is shortened in the message', () => {
    try {
      parseReference(`x:${'-'.repeat(5000)}`);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(400);
      expect((err as OrxError).code).toBe('invalid_reference');
    }
  });
});

describe('registry URLs', () => {
  it('uses http only for loopback registries', () => {
    expect(registryBaseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBaseUrl('127.1.2.3:80')).toBe('http://127.1.2.3:80');
    expect(registryBaseUrl('localhost:5000')).toBe('http://localhost:5000');
    expect(registryBaseUrl('localhost')).toBe('http://localhost');
    expect(registryBaseUrl('[::1]:5000')).toBe('http://[::1]:5000');
    expect(registryBaseUrl('ghcr.io')).toBe('https://ghcr.io');
    expect(registryBaseUrl('127.0.0.1.nip.io:5000')).toBe('https://127.0.0.1.nip.io:5000');
    expect(registryBaseUrl('localhost.example.com')).toBe('https://localhost.example.com');
    expect(registryBaseUrl('docker.io')).toBe('https://registry-1.docker.io');
    expect(isLoopbackRegistry('10.0.0.1:5000')).toBe(false);
  });
});
