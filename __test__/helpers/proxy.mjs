// Test proxies on 127.0.0.1 (random ports), written with node's `http`/`https`/`net` only:
//
//   const p = await startHttpProxy({ auth: { user: 'u', pass: 'p' } });   // HTTP CONNECT
//   const p = await startHttpProxy({ tls: true });    // CONNECT over TLS (test server cert)
//   const p = await startHttpProxy({ status: 403 });  // answers every CONNECT with 403
//   const s = await startSocks5Proxy({ auth: { user: 'u', pass: 'p' } }); // RFC 1928/1929
//   ... p.url is the proxy URL (http://127.0.0.1:port, https://localhost:port, socks5://…)
//   p.tunnels        [{ host, port, auth }] one per tunnel opened (auth: the decoded
//                    "user:pass" the client sent, or null)
//   p.refused        number of requests refused (bad credentials, `status`)
//   await p.close();
//
// Tunnels only ever go to 127.0.0.1 whatever host was asked for (the name is recorded), so a
// test can ask for `localhost` or any name and still reach its local SMTP server.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { CERTS } from './smtp.mjs';

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

/** Splices `client` to 127.0.0.1:port, writing `head` (the success reply) first. */
function splice(client, port, head, sockets) {
  const up = net.connect(port, '127.0.0.1', () => {
    client.write(head);
    up.pipe(client);
    client.pipe(up);
  });
  sockets.add(up);
  up.on('close', () => sockets.delete(up));
  up.on('error', () => client.destroy());
  client.on('error', () => up.destroy());
  client.on('close', () => up.destroy());
}

function closer(server, sockets) {
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/**
 * HTTP CONNECT proxy. Options: `auth` {user, pass} required as Basic Proxy-Authorization
 * (else 407), `status` a fixed refusal status for every request, `tls` serve over TLS with the
 * test server certificate (for localhost).
 */
export async function startHttpProxy(opts = {}) {
  const tunnels = [];
  const sockets = new Set();
  const state = { refused: 0 };
  const server = opts.tls
    ? https.createServer({ key: CERTS.serverKey, cert: CERTS.serverCert })
    : http.createServer();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req, res) => {
    res.writeHead(405);
    res.end();
  });
  server.on('connect', (req, client) => {
    const header = req.headers['proxy-authorization'] || '';
    const auth = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : null;
    const refuse = (status, text) => {
      state.refused++;
      client.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n\r\n`);
    };
    if (opts.status) return refuse(opts.status, http.STATUS_CODES[opts.status] || 'Refused');
    if (opts.auth && auth !== `${opts.auth.user}:${opts.auth.pass}`) {
      return refuse(407, 'Proxy Authentication Required');
    }
    const i = req.url.lastIndexOf(':');
    const host = req.url.slice(0, i);
    const port = Number(req.url.slice(i + 1));
    tunnels.push({ host, port, auth, headers: req.rawHeaders.slice() });
    splice(client, port, 'HTTP/1.1 200 Connection established\r\n\r\n', sockets);
  });
  const port = await listen(server);
  return {
    port,
    url: opts.tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    tunnels,
    get refused() {
      return state.refused;
    },
    close: closer(server, sockets),
  };
}

/**
 * SOCKS5 proxy (CONNECT only). Options: `auth` {user, pass}: only username/password
 * (method 2) is offered and checked, else "no auth" (method 0).
 */
export async function startSocks5Proxy(opts = {}) {
  const tunnels = [];
  const sockets = new Set();
  const state = { refused: 0 };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let buf = Buffer.alloc(0);
    let step = 'greeting';
    let auth = null;
    const take = (n) => {
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    };
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (step === 'greeting') {
          if (buf.length < 2 || buf.length < 2 + buf[1]) return;
          const methods = [...take(2 + buf[1]).subarray(2)];
          const want = opts.auth ? 2 : 0;
          if (!methods.includes(want)) {
            state.refused++;
            return client.end(Buffer.from([5, 0xff]));
          }
          client.write(Buffer.from([5, want]));
          step = opts.auth ? 'auth' : 'request';
        } else if (step === 'auth') {
          if (buf.length < 2) return;
          const ulen = buf[1];
          if (buf.length < 3 + ulen || buf.length < 3 + ulen + buf[2 + ulen]) return;
          const user = take(2 + ulen).subarray(2).toString('utf8');
          const pass = take(1 + buf[0]).subarray(1).toString('utf8');
          auth = `${user}:${pass}`;
          if (user !== opts.auth.user || pass !== opts.auth.pass) {
            state.refused++;
            return client.end(Buffer.from([1, 1]));
          }
          client.write(Buffer.from([1, 0]));
          step = 'request';
        } else if (step === 'request') {
          if (buf.length < 5) return;
          let need;
          if (buf[3] === 1) need = 10;
          else if (buf[3] === 3) need = 7 + buf[4];
          else if (buf[3] === 4) need = 22;
          else return client.destroy();
          if (buf.length < need) return;
          const req = take(need);
          let host;
          if (req[3] === 1) host = [...req.subarray(4, 8)].join('.');
          else if (req[3] === 3) host = req.subarray(5, 5 + req[4]).toString('utf8');
          else host = req.subarray(4, 20).toString('hex');
          const port = req.readUInt16BE(need - 2);
          if (req[1] !== 1) return client.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
          tunnels.push({ host, port, auth });
          client.pause();
          client.removeListener('data', onData);
          if (buf.length) client.unshift(buf);
          splice(client, port, Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]), sockets);
          return;
        }
      }
    };
    client.on('data', onData);
  });
  const port = await listen(server);
  return {
    port,
    url: `socks5://127.0.0.1:${port}`,
    tunnels,
    get refused() {
      return state.refused;
    },
    close: closer(server, sockets),
  };
}
