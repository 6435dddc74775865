// The program scripts/test-runtimes.mjs runs under each runtime (Node, Bun, Deno): loads the addon,
// sends through a pooled SMTP transport with OAuth2 (provisioning callback) to a local smtp-server,
// composes one message with jsonTransport, resolves options from a URL, a service and a user
// object with a Buffer and a function, closes everything, prints one `SMOKE {json}` line and
// must then exit by itself (nothing left holding the event loop). Each send starts in its own
// AsyncLocalStorage context, which its callback or promise must see.
import { createRequire } from 'node:module';
import { AsyncLocalStorage } from 'node:async_hooks';

const require = createRequire(import.meta.url);
const { createTransport } = require('../index.js');
const { SMTPServer } = require('smtp-server');

const als = new AsyncLocalStorage();
const TOKEN = 'smoke-token';
const N = 5;
const received = [];
let provisioned = 0;

const server = new SMTPServer({
  authMethods: ['XOAUTH2'],
  allowInsecureAuth: true,
  hideSTARTTLS: true,
  disableReverseLookup: true,
  logger: false,
  closeTimeout: 100,
  onAuth(auth, session, cb) {
    if (auth.method === 'XOAUTH2' && auth.accessToken === TOKEN) return cb(null, { user: auth.username });
    return cb(Object.assign(new Error('Invalid token'), { responseCode: 535 }));
  },
  onData(stream, session, cb) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      received.push(Buffer.concat(chunks).toString('utf8'));
      cb();
    });
  },
});

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const port = server.server.address().port;

const smtp = als.run('create', () => createTransport({
  host: '127.0.0.1',
  port,
  pool: true,
  maxConnections: 2,
  ignoreTLS: true,
  auth: {
    type: 'OAuth2',
    user: 'smoke@example.com',
    provisionCallback: (user, renew, cb) => {
      provisioned++;
      setTimeout(() => cb(null, TOKEN, Date.now() + 3600_000), 1);
    },
  },
}));
const contexts = [];
const mail = (i) => ({ from: 'smoke@example.com', to: `rcpt${i}@example.com`, subject: `smoke ${i}`, text: `message ${i}` });
// even sends with a callback, odd ones with the promise
const infos = await Promise.all(
  Array.from({ length: N }, (_, i) =>
    als.run(`send ${i}`, () =>
      i % 2 === 0
        ? new Promise((resolve, reject) =>
            smtp.sendMail(mail(i), (err, info) => {
              contexts[i] = als.getStore();
              return err ? reject(err) : resolve(info);
            })
          )
        : smtp.sendMail(mail(i)).then((info) => {
            contexts[i] = als.getStore();
            return info;
          })
    )
  )
);
smtp.close();

const json = createTransport({ jsonTransport: true });
const composed = await json.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'json smoke', text: 'hi' });
const parsed = JSON.parse(composed.message);

// The options cross the napi boundary once (native.resolveTransport): a URL, a service, and a
// user object holding a Buffer and a function, which transporter.options must keep as they are.
const ca = Buffer.from('not a certificate');
const getSocket = (opts, cb) => cb(null, false);
const viaUrl = createTransport({ url: 'smtps://u%40x:p@mail.example.com:2525/?pool=true&tls.servername=s.example.com', tls: { ca }, getSocket });
const viaService = createTransport({ service: 'gmail', auth: { user: 'a', pass: 'b' } });
const urlOptions = viaUrl.transporter.options;
const serviceOptions = viaService.transporter.options;
viaUrl.close();
viaService.close();

await new Promise((resolve) => server.close(resolve));

const problems = [];
if (
  urlOptions.host !== 'mail.example.com' ||
  urlOptions.port !== 2525 ||
  urlOptions.secure !== true ||
  urlOptions.pool !== true ||
  urlOptions.auth.user !== 'u@x' ||
  urlOptions.tls.servername !== 's.example.com' ||
  urlOptions.tls.ca !== ca ||
  urlOptions.getSocket !== getSocket
) {
  problems.push('options from a URL and a user object were not resolved as nodemailer resolves them');
}
if (serviceOptions.host !== 'smtp.gmail.com' || serviceOptions.port !== 465 || serviceOptions.secure !== true) problems.push('the well-known service was not applied');
if (infos.length !== N || infos.some((i) => !i.accepted || i.accepted.length !== 1)) problems.push('not every send was accepted');
if (received.length !== N) problems.push(`server received ${received.length} of ${N}`);
if (!received.every((m) => /^Subject: smoke \d$/m.test(m))) problems.push('a received message has no subject');
if (provisioned < 1) problems.push('the provisioning callback was not called');
if (parsed.subject !== 'json smoke') problems.push('jsonTransport output has the wrong subject');
const lost = contexts.map((c, i) => (c === `send ${i}` ? null : `send ${i} saw ${c}`)).filter(Boolean);
if (lost.length) problems.push(`async context lost: ${lost.join(', ')}`);

const runtime =
  typeof globalThis.Bun !== 'undefined'
    ? `bun ${globalThis.Bun.version}`
    : typeof globalThis.Deno !== 'undefined'
      ? `deno ${globalThis.Deno.version.deno}`
      : `node ${process.version}`;
console.log('SMOKE ' + JSON.stringify({ runtime, sent: infos.length, received: received.length, provisioned, ok: problems.length === 0, problems }));
if (problems.length) process.exitCode = 1;
