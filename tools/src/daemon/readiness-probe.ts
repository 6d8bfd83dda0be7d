// `container-registry status` asks the running server's /readyz, so the CLI shows the same named
// checks a supervisor sees.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { PidRecord } from './pidfile.js';
import type { Readiness } from '../registry/health.js';

/** fetchReadiness GETs /readyz of the recorded server; undefined when it does not answer with the JSON. */
export function fetchReadiness(rec: PidRecord, timeoutMs = 5000): Promise<(Readiness & { httpStatus: number }) | undefined> {
  const host = rec.host === '0.0.0.0' ? '127.0.0.1' : rec.host === '::' ? '::1' : rec.host;
  return new Promise((resolve) => {
    const request = rec.tls ? httpsRequest : httpRequest;
    // Our own server on this machine: the answer is informational, so the certificate is not checked.
    const req = request({ host, port: rec.port, path: '/readyz', method: 'GET', timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Readiness;
          resolve(Array.isArray(body.checks) ? { ...body, httpStatus: res.statusCode ?? 0 } : undefined);
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
