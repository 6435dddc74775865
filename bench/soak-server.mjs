#!/usr/bin/env node
// SMTP receiver for bench/soak.mjs, forked as a separate process (IPC channel required). It kills
// random connections: with probability pMail when MAIL FROM arrives (nothing accepted yet), and with
// probability pDot right after the final dot of DATA, before the reply (the message was received but
// never acknowledged: a client that retries it creates a duplicate). Messages are identified by their
// `Subject: soak <i>` header.
//   fork('soak-server.mjs', ['--p-mail', '0.005', '--p-dot', '0.002', '--seed', '1'])
//   -> sends {ready, port}; answers {type:'stats'} with {type:'stats', stats}
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from './lib/common.mjs';

const require = createRequire(import.meta.url);
const { SMTPServer } = require(path.join(ROOT, 'node_modules', 'smtp-server'));

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((acc, v, i, all) => (i % 2 === 0 ? [...acc, [v.replace(/^--/, ''), all[i + 1]]] : acc), [])
);
const pMail = Number(args['p-mail'] ?? 0.005);
const pDot = Number(args['p-dot'] ?? 0.002);

// Seeded PRNG (mulberry32) so a failing soak can be replayed with the same kill pattern.
let seed = Number(args.seed ?? Date.now()) >>> 0;
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const accepted = new Map(); // id -> times acknowledged with 250
const droppedAfterDot = new Map(); // id -> times received completely but cut before the reply
const stats = { connections: 0, killedAtMail: 0, killedAfterDot: 0, unidentified: 0 };

let server;
// smtp-server gives handlers the session, not the socket; the connection object (and its
// `_socket`) is found through the server's set of live connections.
function kill(session) {
  for (const c of server.connections) {
    if (c.id === session.id) {
      c._socket.destroy();
      return true;
    }
  }
  return false;
}

server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  disableReverseLookup: true,
  logger: false,
  maxClients: 1000,
  onConnect(session, cb) {
    stats.connections++;
    cb();
  },
  onMailFrom(address, session, cb) {
    if (random() < pMail && kill(session)) {
      stats.killedAtMail++;
      return; // no reply: the socket is gone
    }
    cb();
  },
  onData(stream, session, cb) {
    let head = '';
    stream.on('data', (chunk) => {
      if (head.length < 4096) head += chunk.toString('latin1');
    });
    stream.on('end', () => {
      const m = /^Subject: soak (\d+)\r?$/m.exec(head);
      const id = m ? Number(m[1]) : null;
      if (id === null) stats.unidentified++;
      if (random() < pDot && kill(session)) {
        stats.killedAfterDot++;
        if (id !== null) droppedAfterDot.set(id, (droppedAfterDot.get(id) || 0) + 1);
        return; // message received, never acknowledged
      }
      if (id !== null) accepted.set(id, (accepted.get(id) || 0) + 1);
      cb();
    });
  },
});
server.on('error', () => {
  // a client socket destroyed by us may surface here; it is the point of the exercise
});

server.listen(0, '127.0.0.1', () => {
  process.send({ type: 'ready', port: server.server.address().port, pMail, pDot });
});

process.on('message', (msg) => {
  if (msg && msg.type === 'stats') {
    process.send({ type: 'stats', stats, accepted: [...accepted], droppedAfterDot: [...droppedAfterDot] });
  }
});
const shutdown = () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('disconnect', shutdown);
process.on('SIGTERM', shutdown);
