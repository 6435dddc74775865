// Security review (issue 13), points 3-7: long recipient lists (linear de-duplication off Node's
// thread, maxRecipients), the sandbox flags in `defaults` (one-way), href fetches (no proxy from
// the environment, a 64 MiB cap) and `content: { path | href }` on attachments. Every peer is on
// 127.0.0.1: smtp-server, small http/net servers of our own, and the stream/json transports.
// nodemailer 10.6.1 runs side by side where the behaviour is compared.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { startRawServer } from './helpers/raw.mjs';
import { startSmtpServer } from './helpers/smtp.mjs';
import { waitFor, within } from './helpers/wait.mjs';

const require = createRequire(import.meta.url);
const mailer = require('../index.js');
const nodemailer = require('../node_modules/nodemailer');
const { simpleParser } = require('mailparser');

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const many = (n, prefix = 'user') => Array.from({ length: n }, (_, i) => `${prefix}${i}@example.com`);

let dir;
let file;
const FILE_TEXT = 'sandboxed file content\n';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-limits-'));
  file = path.join(dir, 'secret.txt');
  fs.writeFileSync(file, FILE_TEXT);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An HTTP server on 127.0.0.1 that records every request; `handler(req, res)` answers. */
async function httpServer(handler) {
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    handler(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  return {
    port,
    url: (p = '/file.txt') => `http://127.0.0.1:${port}${p}`,
    requests,
    connections: () => server.connections,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(r);
      }),
  };
}

const outcome = (p) =>
  p.then(
    (info) => ({ ok: true, info }),
    (err) => ({ ok: false, code: err.code, message: err.message, command: err.command, response: err.response })
  );

// ---------------------------------------------------------------------------------------------
describe('point 3: long recipient lists', () => {
  test('envelope de-duplication matches nodemailer (order, first wins, exact key, punycode, groups, envelope)', async () => {
    const msgs = [
      {
        from: 'a@example.com',
        to: ['X <dup@example.com>', 'b@example.com', 'Dup@example.com', 'c@jõgeva.ee'],
        cc: 'dup@example.com, G: b@example.com, d@example.com;, c@xn--jgeva-dua.ee',
        bcc: [{ name: 'Y', address: 'e@example.com' }, 'dup@example.com', ['f@example.com', 'e@example.com']],
        text: 'x',
      },
      {
        from: 'a@example.com',
        to: 'ignored@example.com',
        envelope: { from: 'env@example.com', to: ['p@example.com', 'q@example.com'], cc: 'p@example.com', bcc: ['r@example.com', 'q@example.com'] },
        text: 'x',
      },
    ];
    for (const msg of msgs) {
      const [a, b] = await Promise.all(
        [nodemailer, mailer].map((m) => m.createTransport({ streamTransport: true, buffer: true }).sendMail(structuredClone(msg)))
      );
      assert.deepEqual(b.envelope, a.envelope);
    }
  });

  test('long lists of strings (they cross to Rust as one string) give nodemailer\'s envelope and headers', { timeout: 120_000 }, async () => {
    const odd = ['', 'Name, With Comma <comma@example.com>', 'G: g1@example.com, g2@example.com;', 'a@example.com; b@example.com', 'user5@example.com', 'Ünï <u@jõgeva.ee>'];
    const to = [...many(1500), ...odd];
    const msgs = [
      { from: 'f@example.com', to, cc: many(1200, 'cc'), bcc: [...many(1001, 'user')].reverse(), text: 'x' },
      // an entry with a NUL: the list goes as it is
      { from: 'f@example.com', to: [...many(1100), 'nul\0@example.com'], text: 'x' },
      { from: 'f@example.com', to: 'x@example.com', envelope: { from: 'e@example.com', to: [...many(1100, 'env'), ...odd], bcc: many(1001, 'env') }, text: 'x' },
    ];
    for (const msg of msgs) {
      const [a, b] = await Promise.all([nodemailer, mailer].map((m) => m.createTransport({ streamTransport: true, buffer: true }).sendMail(structuredClone(msg))));
      assert.deepEqual(b.envelope, a.envelope);
      const [pa, pb] = [await simpleParser(a.message), await simpleParser(b.message)];
      for (const k of ['to', 'cc', 'bcc']) assert.deepEqual(pb[k] && pb[k].value, pa[k] && pa[k].value, k);
    }
  });

  test('100,001 recipients: EMAXRECIPIENTS (nodemailer\'s code and message) before any connection', { timeout: 180_000 }, async () => {
    const srv = await startSmtpServer();
    try {
      const msg = { from: 'a@example.com', to: many(100_001), text: 'x' };
      const opts = { host: '127.0.0.1', port: srv.port, ignoreTLS: true };
      const [a, b] = [await outcome(nodemailer.createTransport(opts).sendMail(msg)), await outcome(mailer.createTransport(opts).sendMail(msg))];
      assert.equal(a.code, 'EMAXRECIPIENTS');
      assert.deepEqual(b, a);
      assert.equal(b.message, 'Message has 100001 recipients, which is over the 100000 allowed by maxRecipients');
      assert.equal(srv.connections.size, 0, 'no SMTP connection for a refused message');
    } finally {
      await srv.close();
    }
  });

  test('maxRecipients from the message, defaults and transport options, as nodemailer applies it', async () => {
    const srv = await startSmtpServer();
    const three = { from: 'a@example.com', to: 'b@example.com, c@example.com', cc: 'c@example.com, d@example.com', text: 'x' };
    const cases = [
      // [transport options, defaults, message extra]
      [{}, {}, { maxRecipients: 2 }],
      [{}, {}, { maxRecipients: 3 }],
      [{}, {}, { maxRecipients: '2' }],
      [{}, {}, { maxRecipients: 2.5 }],
      [{}, { maxRecipients: 2 }, {}],
      [{}, { maxRecipients: 2 }, { maxRecipients: 5 }],
      [{ maxRecipients: 2 }, {}, { maxRecipients: 5 }], // the transport option is forced onto the message
      [{ maxRecipients: 0 }, {}, { maxRecipients: 1 }],
      [{}, {}, { maxRecipients: false }],
      [{}, {}, { maxRecipients: null }],
      [{}, {}, { maxRecipients: 'abc' }],
      [{}, {}, { envelope: { from: 'a@example.com', to: ['p@example.com', 'q@example.com', 'r@example.com'] }, maxRecipients: 2 }],
    ];
    try {
      for (const [topts, defaults, extra] of cases) {
        for (const kind of ['smtp', 'stream', 'json']) {
          const base = kind === 'smtp' ? { host: '127.0.0.1', port: srv.port, ignoreTLS: true } : kind === 'stream' ? { streamTransport: true, buffer: true } : { jsonTransport: true };
          const run = (m) => outcome(m.createTransport({ ...base, ...topts }, defaults).sendMail({ ...three, ...extra }));
          const [a, b] = [await run(nodemailer), await run(mailer)];
          const what = `${kind} ${JSON.stringify([topts, defaults, extra])}`;
          assert.equal(b.ok, a.ok, `${what}: nodemailer ${a.ok ? 'sent' : a.message}, mailer-rs ${b.ok ? 'sent' : b.message}`);
          if (!a.ok) {
            assert.equal(a.code, 'EMAXRECIPIENTS', what);
            assert.deepEqual(b, a, what);
          } else assert.deepEqual(b.info.envelope, a.info.envelope, what);
        }
      }
    } finally {
      await srv.close();
    }
  });

  test('maxRecipients: 0 lets 100,001 recipients through (streamTransport)', { timeout: 180_000 }, async () => {
    const info = await mailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from: 'a@example.com', to: many(100_001), text: 'x', maxRecipients: 0 });
    assert.equal(info.envelope.to.length, 100_001);
    assert.equal(info.envelope.to[100_000], 'user100000@example.com');
  });

  test('a 40,000-recipient message does not stall the event loop (SMTP, composed off the JS thread)', { timeout: 180_000 }, async () => {
    // the receiver refuses MAIL FROM: the send ends once the message is composed and submitted
    const server = await startRawServer(async (c) => {
      c.write('220 localhost ESMTP\r\n');
      for (let line; (line = await c.readLine()) !== null; ) {
        if (/^EHLO /i.test(line)) c.write('250-localhost\r\n250 8BITMIME\r\n');
        else if (/^MAIL FROM/i.test(line)) c.write('550 5.7.1 refused\r\n');
        else if (/^QUIT/i.test(line)) {
          c.write('221 bye\r\n');
          return c.end();
        } else c.write('503 5.5.1 bad sequence\r\n');
      }
    });
    const to = many(40_000);
    const t = mailer.createTransport({ host: '127.0.0.1', port: server.port, ignoreTLS: true });
    let last = performance.now();
    let maxGap = 0;
    let onTick = null;
    const ticker = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      if (onTick) onTick();
    }, 5);
    try {
      last = performance.now();
      const r = await outcome(t.sendMail({ from: 'a@example.com', to, text: 'x' }));
      // one more tick measures the gap up to the settlement too
      await within(new Promise((res) => (onTick = res)), { what: 'a tick of the event-loop ticker' });
      assert.equal(r.ok, false);
      assert.equal(r.code, 'EENVELOPE', JSON.stringify(r));
      assert.equal(server.sessions.length, 1);
      // The former code composed here, on Node's thread, with a quadratic de-duplication: 4.7 s
      // (release build) at 40,000. What remains here is reading the message object (~0.1 s).
      assert.ok(maxGap < 1000, `event loop stalled ${maxGap.toFixed(0)} ms`);
    } finally {
      clearInterval(ticker);
      t.close();
      await server.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('point 4: the sandbox flags in defaults are one-way', () => {
  let web;
  before(async () => {
    web = await httpServer((req, res) => res.end('remote content\n'));
  });
  after(() => web.close());

  // Every way a message can name a file or a URL. `src` is { path } or { href } (or a URL in path).
  const routes = (src) => all(src).filter(([route]) => !(isUrlPath(src) && FILE_ONLY.includes(route)));
  const isUrlPath = (src) => typeof src.path === 'string' && /^https?:/.test(src.path);
  // nodemailer reads these `path`s as file names even when they look like URLs (its MimeNode
  // streams `{ path }` with fs): not URL routes
  const FILE_ONLY = ['attachments[].content {path|href}', 'attachments[].raw {path|href}', 'raw {path|href}'];
  const all = (src) => [
    ['attachments[].path/href', { attachments: [{ filename: 'a.txt', ...src }] }],
    ['attachments[].content {path|href}', { attachments: [{ filename: 'a.txt', content: { ...src } }] }],
    ['attachments[].raw {path|href}', { attachments: [{ raw: { ...src } }] }],
    ['text {path|href}', { text: { ...src } }],
    ['html {path|href}', { html: { ...src } }],
    ['watchHtml {path|href}', { text: 'x', watchHtml: { ...src } }],
    ['amp {path|href}', { text: 'x', html: '<p>x</p>', amp: { ...src } }],
    ['icalEvent {path|href}', { text: 'x', icalEvent: { ...src } }],
    ['alternatives[] path/href', { text: 'x', alternatives: [{ contentType: 'text/x-other', ...src }] }],
    ['raw {path|href}', { raw: { ...src } }],
  ];

  const transports = () => [
    ['stream', { streamTransport: true, buffer: true }],
    ['json', { jsonTransport: true }],
  ];

  for (const [flag, code, srcOf] of [
    ['disableFileAccess', 'EFILEACCESS', () => ({ path: file })],
    ['disableUrlAccess', 'EURLACCESS', () => ({ href: web.url('/h.txt') })],
    ['disableUrlAccess', 'EURLACCESS', () => ({ path: web.url('/p.txt') })],
  ]) {
    test(`${flag} in defaults: a message with ${flag}: false is still refused (${code}), every route, as nodemailer`, async () => {
      const src = srcOf();
      for (const [tname, topts] of transports()) {
        for (const [route, fields] of routes(src)) {
          const msg = { from: 'a@example.com', to: 'b@example.com', subject: 's', [flag]: false, ...fields };
          const run = (m) => outcome(m.createTransport(topts, { [flag]: true }).sendMail(structuredClone(msg)));
          const before = web.requests.length;
          const b = await run(mailer);
          assert.equal(b.ok, false, `${tname} ${route}: mailer-rs read the content`);
          assert.equal(b.code, code, `${tname} ${route}: ${b.message}`);
          assert.equal(web.requests.length, before, `${tname} ${route}: a request was made`);
          // nodemailer's answer for the same message (its json transport, the mime routes)
          const a = await run(nodemailer);
          if (!a.ok) assert.equal(a.code, code, `${tname} ${route}: nodemailer ${a.message}`);
        }
      }
    });
  }

  test('a message may always close the sandbox for itself, even under a transport option false (nodemailer lets that option reopen it)', async () => {
    for (const [topts, defaults] of [
      [{ streamTransport: true, buffer: true, disableFileAccess: false }, {}],
      [{ streamTransport: true, buffer: true, disableFileAccess: false }, { disableFileAccess: false }],
    ]) {
      const r = await outcome(mailer.createTransport(topts, defaults).sendMail({ from: 'a@example.com', to: 'b@example.com', disableFileAccess: true, attachments: [{ path: file }] }));
      assert.equal(r.code, 'EFILEACCESS', JSON.stringify([topts, defaults]));
    }
  });

  test('defaults off, the message switches the sandbox on: refused; transport option on, message off: refused', async () => {
    for (const [topts, defaults, msgFlags] of [
      [{ streamTransport: true, buffer: true }, {}, { disableFileAccess: true }],
      [{ streamTransport: true, buffer: true }, { disableFileAccess: false }, { disableFileAccess: true }],
      [{ streamTransport: true, buffer: true, disableFileAccess: true }, {}, { disableFileAccess: false }],
    ]) {
      for (const m of [nodemailer, mailer]) {
        const r = await outcome(m.createTransport(topts, defaults).sendMail({ from: 'a@example.com', to: 'b@example.com', ...msgFlags, attachments: [{ path: file }] }));
        assert.equal(r.code, 'EFILEACCESS', JSON.stringify([topts, defaults, msgFlags]));
      }
    }
  });

  test('SMTP: defaults { disableFileAccess, disableUrlAccess } cannot be reopened by the message; nothing delivered', async () => {
    const srv = await startSmtpServer();
    try {
      const t = mailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true }, { disableFileAccess: true, disableUrlAccess: true });
      const base = { from: 'a@example.com', to: 'b@example.com', disableFileAccess: false, disableUrlAccess: false };
      const f = await outcome(t.sendMail({ ...base, attachments: [{ path: file }] }));
      const u = await outcome(t.sendMail({ ...base, html: { href: web.url('/smtp.html') } }));
      assert.equal(f.code, 'EFILEACCESS');
      assert.equal(u.code, 'EURLACCESS');
      assert.equal(srv.messages.length, 0);
    } finally {
      await srv.close();
    }
  });

  test('data: URLs are not file or URL access: allowed under both flags (attachments, attachDataUrls)', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const msg = {
      from: 'a@example.com',
      to: 'b@example.com',
      html: `<p><img src="data:image/png;base64,${png.toString('base64')}"></p>`,
      attachDataUrls: true,
      attachments: [{ filename: 'd.txt', path: 'data:text/plain;base64,' + Buffer.from('data url').toString('base64') }],
    };
    for (const m of [nodemailer, mailer]) {
      const info = await m.createTransport({ streamTransport: true, buffer: true }, { disableFileAccess: true, disableUrlAccess: true }).sendMail(structuredClone(msg));
      const p = await simpleParser(info.message);
      const byName = Object.fromEntries(p.attachments.map((x) => [x.contentType, x.content]));
      assert.deepEqual(byName['text/plain'], Buffer.from('data url'));
      assert.deepEqual(byName['image/png'], png);
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('point 5: href fetches ignore HTTP_PROXY / HTTPS_PROXY / ALL_PROXY', () => {
  test('with every proxy variable set to a local "proxy", the fetch goes straight to the server with its headers; the proxy sees nothing', { timeout: 60_000 }, async () => {
    const origin = await httpServer((req, res) => res.end('direct body\n'));
    const proxy = await httpServer((req, res) => {
      res.statusCode = 502;
      res.end('proxied');
    });
    // a child process: the variables are read when the fetch client is built, and setting them
    // in this process would leak into every other test of the file
    const script = `
      const mailer = require(${JSON.stringify(path.join(ROOT, 'index.js'))});
      const t = mailer.createTransport({ streamTransport: true, buffer: true });
      t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x',
        attachments: [{ filename: 'r.txt', href: ${JSON.stringify(origin.url('/r.txt'))}, httpHeaders: { Authorization: 'Bearer proxy-test-secret' } }] })
        .then((info) => { process.stdout.write(JSON.stringify({ ok: true, message: info.message.toString('latin1') })); },
              (err) => { process.stdout.write(JSON.stringify({ ok: false, code: err.code, message: err.message })); });
    `;
    const proxyUrl = `http://127.0.0.1:${proxy.port}`;
    const env = { ...process.env, HTTP_PROXY: proxyUrl, http_proxy: proxyUrl, HTTPS_PROXY: proxyUrl, https_proxy: proxyUrl, ALL_PROXY: proxyUrl, all_proxy: proxyUrl };
    for (const k of ['NO_PROXY', 'no_proxy']) delete env[k];
    try {
      const out = await new Promise((resolve, reject) => {
        const c = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        let s = '';
        c.stdout.on('data', (d) => (s += d));
        c.on('error', reject);
        c.on('exit', () => resolve(s));
      });
      const r = JSON.parse(out);
      assert.equal(r.ok, true, r.message);
      assert.equal(proxy.requests.length, 0, `the proxy received ${JSON.stringify(proxy.requests)}`);
      assert.equal(origin.requests.length, 1);
      assert.equal(origin.requests[0].url, '/r.txt');
      assert.equal(origin.requests[0].headers.authorization, 'Bearer proxy-test-secret');
      const p = await simpleParser(Buffer.from(r.message, 'latin1'));
      assert.equal(p.attachments[0].content.toString(), 'direct body\n');
    } finally {
      await origin.close();
      await proxy.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('point 6: href bodies are capped at 64 MiB (EFETCH, as nodemailer)', () => {
  const LIMIT = 64 * 1024 * 1024;
  const TOTAL = 256 * 1024 * 1024;
  const CHUNK = Buffer.alloc(1024 * 1024, 0x61);
  let web;
  let written;
  before(async () => {
    written = [];
    web = await httpServer((req, res) => {
      // chunked, no Content-Length: only counting can stop it
      const entry = { bytes: 0 };
      written.push(entry);
      if (req.url === '/announced') {
        res.setHeader('Content-Length', String(TOTAL));
      }
      const pump = () => {
        while (entry.bytes < TOTAL) {
          entry.bytes += CHUNK.length;
          if (!res.write(CHUNK)) return res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (entry.closed = true));
      pump();
    });
  });
  after(() => web.close());

  const expected = `Response size exceeds the allowed ${LIMIT} bytes`;

  test('streamTransport buffer: true: EFETCH once past 64 MiB; the rest is never read', { timeout: 120_000 }, async () => {
    const rss0 = process.memoryUsage().rss;
    const started = Date.now();
    const r = await outcome(
      mailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', attachments: [{ filename: 'big.bin', href: web.url('/big') }] })
    );
    const elapsed = Date.now() - started;
    assert.equal(r.ok, false, 'an oversized body was accepted');
    assert.equal(r.code, 'EFETCH');
    assert.equal(r.message, expected);
    // the server could not write its 256 MiB: the connection was dropped at 64 MiB (plus what
    // the socket buffers held)
    const entry = written.at(-1);
    await waitFor(() => entry.closed, { what: 'the server to see the connection closed' });
    assert.ok(entry.bytes < TOTAL, `the server wrote all ${entry.bytes} bytes`);
    assert.ok(entry.closed, 'the connection was left open');
    // base64 of 64 MiB is ~86 MiB; a body read to the end would be ~350 MiB
    const grew = (process.memoryUsage().rss - rss0) / 1024 / 1024;
    assert.ok(grew < 300, `RSS grew ${grew.toFixed(0)} MiB`);
    assert.ok(elapsed < 60_000, `took ${elapsed} ms`);
  });

  test('nodemailer gives the same error for the same body', { timeout: 120_000 }, async () => {
    const r = await outcome(
      nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', attachments: [{ filename: 'big.bin', href: web.url('/big') }] })
    );
    assert.equal(r.code, 'EFETCH');
    assert.equal(r.message, expected);
  });

  test('a Content-Length over the cap is refused before the body is read (jsonTransport)', { timeout: 60_000 }, async () => {
    const started = Date.now();
    const r = await outcome(mailer.createTransport({ jsonTransport: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', attachments: [{ href: web.url('/announced') }] }));
    assert.equal(r.code, 'EFETCH');
    assert.equal(r.message, expected);
    assert.ok(Date.now() - started < 30_000);
  });

  test('jsonTransport (which resolves content into memory) and SMTP fail too; nothing delivered', { timeout: 120_000 }, async () => {
    const j = await outcome(mailer.createTransport({ jsonTransport: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', attachments: [{ href: web.url('/big') }] }));
    assert.equal(j.code, 'EFETCH');
    assert.equal(j.message, expected);
    const srv = await startSmtpServer();
    try {
      const s = await outcome(
        mailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', attachments: [{ href: web.url('/big') }] })
      );
      // nodemailer's SMTP transport reports any failure to read the body as ESTREAM (command
      // API), a fetch's message kept; so does mailer-rs
      assert.equal(s.code, 'ESTREAM', s.message);
      assert.equal(s.command, 'API');
      assert.equal(s.message, expected);
      assert.equal(srv.messages.length, 0);
    } finally {
      await srv.close();
    }
  });

  test('a body of exactly 64 MiB is accepted', { timeout: 120_000 }, async () => {
    const exact = await httpServer((req, res) => {
      let n = 0;
      const pump = () => {
        while (n < LIMIT) {
          n += CHUNK.length;
          if (!res.write(CHUNK)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    try {
      const info = await mailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', attachments: [{ filename: 'exact.bin', href: exact.url('/exact') }] });
      assert.ok(info.message.length > (LIMIT * 4) / 3);
    } finally {
      await exact.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('point 7: attachments with content: { path } / content: { href }', () => {
  let web;
  before(async () => {
    web = await httpServer((req, res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.end(`remote ${req.url} ${req.headers['x-token'] || ''}\n`);
    });
  });
  after(() => web.close());

  const message = () => ({
    from: 'a@example.com',
    to: 'b@example.com',
    subject: 'content refs',
    text: 'body',
    attachments: [
      { filename: 'local.txt', content: { path: file } },
      { filename: 'remote.txt', content: { href: web.url('/remote.txt'), httpHeaders: { 'X-Token': 'tok' } } },
      { content: { path: file } }, // no filename: nodemailer's default name and type
    ],
  });

  const attachmentsOf = async (raw) =>
    (await simpleParser(raw)).attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, disposition: a.contentDisposition, body: a.content.toString() }));

  test('read and fetched as nodemailer does (streamTransport, parsed and compared)', async () => {
    const a = await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail(message());
    const b = await mailer.createTransport({ streamTransport: true, buffer: true }).sendMail(message());
    const [va, vb] = [await attachmentsOf(a.message), await attachmentsOf(b.message)];
    assert.deepEqual(vb, va);
    assert.equal(vb[0].body, FILE_TEXT);
    assert.equal(vb[1].body, 'remote /remote.txt tok\n');
    assert.equal(vb[2].body, FILE_TEXT);
  });

  test('jsonTransport resolves them as nodemailer does', async () => {
    const a = await nodemailer.createTransport({ jsonTransport: true }).sendMail(message());
    const b = await mailer.createTransport({ jsonTransport: true }).sendMail(message());
    const strip = (s) => {
      const j = JSON.parse(s);
      delete j.messageId;
      return j;
    };
    assert.deepEqual(strip(b.message), strip(a.message));
  });

  test('SMTP: delivered with the file and the fetched body', async () => {
    const srv = await startSmtpServer();
    try {
      await mailer.createTransport({ host: '127.0.0.1', port: srv.port, ignoreTLS: true }).sendMail(message());
      const atts = await attachmentsOf(srv.messages[0].raw);
      assert.deepEqual(
        atts.map((x) => x.body),
        [FILE_TEXT, 'remote /remote.txt tok\n', FILE_TEXT]
      );
    } finally {
      await srv.close();
    }
  });

  test('under the sandbox: EFILEACCESS / EURLACCESS, no request made', async () => {
    const before = web.requests.length;
    for (const m of [nodemailer, mailer]) {
      const t = m.createTransport({ streamTransport: true, buffer: true });
      const f = await outcome(t.sendMail({ from: 'a@example.com', to: 'b@example.com', disableFileAccess: true, attachments: [{ content: { path: file } }] }));
      const u = await outcome(t.sendMail({ from: 'a@example.com', to: 'b@example.com', disableUrlAccess: true, attachments: [{ content: { href: web.url('/no.txt') } }] }));
      assert.equal(f.code, 'EFILEACCESS');
      assert.equal(f.message, `File access rejected for ${file}`);
      assert.equal(u.code, 'EURLACCESS');
      assert.equal(u.message, `Url access rejected for ${web.url('/no.txt')}`);
    }
    assert.equal(web.requests.length, before);
  });
});
