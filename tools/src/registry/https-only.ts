// The HTTPS port answers plain HTTP with a 400 that says so, as Go's net/http does
// (net/http/server.go: "Client sent an HTTP request to an HTTPS server."), rather than with the
// empty reply a failed TLS handshake leaves (docker then shows only `EOF`).
//
// OpenSSL already tells a request line from a ClientHello: the handshake fails with
// ERR_SSL_HTTP_REQUEST when a connection starts with `GET `, `POST `, `HEAD ` or `PUT `. The answer
// then goes out in plain text on the TCP socket under the failed TLS socket (TLS only reads from
// it), before node closes the connection. So TLS starts at once as before, and a connection that
// speaks TLS pays one map entry: about 1 µs of server CPU, where reading the first byte in
// JavaScript before TLS starts cost about 20 µs, 6% of a handshake (measured with connections
// alternating between the two ways on one server).
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** PLAIN_HTTP_BODY is the body of the 400, Go's words. */
export const PLAIN_HTTP_BODY = 'Client sent an HTTP request to an HTTPS server.\n';

const PLAIN_HTTP_ANSWER =
  'HTTP/1.1 400 Bad Request\r\n' +
  'Content-Type: text/plain; charset=utf-8\r\n' +
  `Content-Length: ${Buffer.byteLength(PLAIN_HTTP_BODY)}\r\n` +
  'Connection: close\r\n' +
  '\r\n' +
  PLAIN_HTTP_BODY;

/**
 * answerPlainHttp makes `server` answer a plain-HTTP request with the 400. The TCP sockets of
 * open connections are kept by remote port (a port two addresses share at once only loses the
 * answer, never mixes connections up) until they close.
 */
export function answerPlainHttp(server: HttpsServer): void {
  const sockets = new Map<number, Socket>();
  server.on('connection', (socket: Socket) => {
    const port = socket.remotePort;
    if (port === undefined) return;
    sockets.set(port, socket);
    socket.once('close', () => {
      if (sockets.get(port) === socket) sockets.delete(port);
    });
  });
  // Before node's own listener, which destroys the connection.
  server.prependListener('tlsClientError', (err: Error, tls: TLSSocket) => {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_SSL_HTTP_REQUEST' || tls.remotePort === undefined) return;
    const socket = sockets.get(tls.remotePort);
    if (!socket?.writable || socket.remoteAddress !== tls.remoteAddress) return;
    // The client may be gone already: a failed write is nobody's business.
    socket.on('error', () => {});
    socket.write(PLAIN_HTTP_ANSWER);
  });
}
