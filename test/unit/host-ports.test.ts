import dgram from 'node:dgram';
import net from 'node:net';
import {describe, expect, it} from 'vitest';
import {engineIsLocal, portHolder, probePort} from '../../src/drivers/host-ports.js';

describe('host ports', () => {
  it('a tcp port held on loopback is in use there and on the wildcard, free once let go; its holder is this process', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const {port} = srv.address() as net.AddressInfo;
    try {
      expect(await probePort('127.0.0.1', port, 'tcp')).toBe('in-use');
      expect(await probePort('0.0.0.0', port, 'tcp')).toBe('in-use');
      expect(portHolder('127.0.0.1', port, 'tcp')).toMatch(new RegExp(`^pid ${process.pid} \\(.+\\)$`));
      expect(portHolder('127.0.0.1', port, 'udp')).toBeNull();
    } finally {
      await new Promise((r) => srv.close(r));
    }
    expect(await probePort('127.0.0.1', port, 'tcp')).toBe('free');
    expect(portHolder('127.0.0.1', port, 'tcp')).toBeNull();
  });

  it('udp is probed as udp', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const {port} = sock.address();
    try {
      expect(await probePort('127.0.0.1', port, 'udp')).toBe('in-use');
      expect(portHolder('127.0.0.1', port, 'udp')).toMatch(`pid ${process.pid}`);
    } finally {
      sock.close();
    }
  });

  it('an address this host lacks is not called in use (the engine judges it)', async () => {
    expect(await probePort('192.0.2.1', 40000, 'tcp')).toBe('unknown');
  });

  it("only a local engine has this host's ports", () => {
    expect(engineIsLocal({})).toBe(true);
    expect(engineIsLocal({DOCKER_HOST: 'unix:///run/user/1000/docker.sock'})).toBe(true);
    expect(engineIsLocal({DOCKER_HOST: 'tcp://10.0.0.5:2376'})).toBe(false);
    expect(engineIsLocal({DOCKER_HOST: 'ssh://me@box'})).toBe(false);
  });
});
