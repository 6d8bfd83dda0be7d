// Raw HTTP/1.1 over a socket, so nothing normalises a request before the server sees it.
import { connect } from 'node:net';

/** Reachable is a server on loopback. */
export interface Reachable {
  port: number;
}

/** RawResponse is one parsed answer. */
export interface RawResponse {
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
}

/** raw writes bytes to the server and reads one response; `abortAfterMs` cuts the socket instead. */
export function raw(reg: Reachable, data: Buffer | string, opts: { abortAfterMs?: number; endInput?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port: reg.port });
    let got = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parse(got));
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 5000);
    sock.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      const r = parse(got);
      if (r.status !== undefined && Buffer.byteLength(r.body) >= Number(r.headers['content-length'] ?? Infinity)) finish();
    });
    sock.on('error', finish);
    sock.on('close', finish);
    sock.write(data, () => {
      if (opts.abortAfterMs !== undefined) setTimeout(finish, opts.abortAfterMs);
      else if (opts.endInput) sock.end();
    });
  });
}

/** parse reads the status line, headers and body received so far. */
export function parse(buf: Buffer): RawResponse {
  const text = buf.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: undefined, headers: {}, body: '' };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]), headers, body: text.slice(end + 4) };
}

/** req formats one request (Connection: close unless told otherwise). */
export function req(method: string, path: string, headers: Record<string, string | number> = {}, body = ''): string {
  const h = { Host: 'registry', Connection: 'close', ...headers };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(h)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n${body}`;
}

/** errorCode is the first spec error code of a JSON body. */
export function errorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}
