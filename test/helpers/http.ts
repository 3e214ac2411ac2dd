import http from 'node:http';
import net from 'node:net';

/** GET http://127.0.0.1:PORT/PATH: the trimmed body of a 200 answer, else null (refused, reset, timed out, other status). */
export function loopbackGet(port: number, path: string, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get({host: '127.0.0.1', port, path, timeout: timeoutMs}, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : null));
      res.on('error', () => resolve(null));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => (req.destroy(), resolve(null)));
  });
}

/** A loopback port free right now (taken by nothing this test knows of). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
