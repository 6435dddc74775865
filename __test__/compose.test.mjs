// Differential composition tests: every corpus message is composed by nodemailer 10.6.1 and by
// mailer-rs (streamTransport, buffer: true), both parsed with mailparser and compared field by
// field, plus RFC hygiene checks on mailer-rs's raw bytes and header-injection attempts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { corpus, makeFiles } from './fixtures/compose/corpus.mjs';

const require = createRequire(import.meta.url);
const mailer = require('../index.js');
const nodemailer = require('../node_modules/nodemailer');
const { simpleParser } = require('mailparser');

let dir;
let files;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-compose-'));
  files = makeFiles(dir);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function compose(mod, msg, opts = {}) {
  const t = mod.createTransport({ streamTransport: true, buffer: true, ...opts });
  return t.sendMail(msg);
}

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');

/** The comparable view of a parsed message. */
function view(p) {
  const addr = (a) => (a ? [].concat(a).map((x) => x.value) : undefined);
  const headers = {};
  for (const [k, v] of p.headers) {
    if (k === 'date' || k === 'message-id') continue;
    if (k === 'content-type') {
      const params = { ...v.params };
      delete params.boundary;
      headers[k] = { value: v.value, params };
    } else headers[k] = v;
  }
  return maskCids({
    subject: p.subject,
    from: addr(p.from),
    to: addr(p.to),
    cc: addr(p.cc),
    bcc: addr(p.bcc),
    replyTo: addr(p.replyTo),
    text: p.text,
    html: p.html,
    attachments: p.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      contentDisposition: a.contentDisposition,
      cid: a.cid,
      size: a.size,
      sha256: sha(a.content),
      related: a.related,
      // a single-part message is its own attachment: its random headers are compared elsewhere
      headers: Object.fromEntries([...a.headers].filter(([k]) => k !== 'message-id' && k !== 'date')),
    })),
    priority: p.priority,
    inReplyTo: p.inReplyTo,
    references: p.references,
    headers,
  });
}

// attachDataUrls cids are random
const maskCids = (v) => JSON.parse(JSON.stringify(v).replace(/[0-9a-f]{20}@localhost/g, 'CID@localhost'));

/** Masks what is random per message: boundaries, generated ids, the default date. */
function mask(raw, msg) {
  let s = raw
    .toString('latin1')
    .replace(/_NmP-[0-9a-f]{16}-Part_/g, '_NmP-BOUNDARY-Part_')
    // attachDataUrls cids
    .replace(/[0-9a-f]{20}@localhost/g, 'CID@localhost');
  if (!msg.messageId) s = s.replace(/^Message-ID: <[0-9a-f-]{36}@/m, 'Message-ID: <ID@');
  if (!msg.date) s = s.replace(/^Date: .*$/m, 'Date: DATE');
  return s;
}

function firstDiff(a, b) {
  const la = a.split('\r\n');
  const lb = b.split('\r\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `line ${i + 1}:\n  nodemailer: ${JSON.stringify(la[i])}\n  mailer-rs:  ${JSON.stringify(lb[i])}`;
  }
  return 'equal';
}

/** Header blocks: the message's and each MIME part's (lines up to the first empty line). */
function headerBlocks(raw) {
  const lines = raw.toString('latin1').split('\r\n');
  const blocks = [];
  let cur = [];
  let inHeader = true;
  for (const line of lines) {
    if (inHeader) {
      if (line === '') {
        blocks.push(cur);
        cur = [];
        inHeader = false;
      } else cur.push(line);
    } else if (/^--_NmP-[0-9a-f]{16}-Part_\d+$/.test(line)) inHeader = true;
  }
  return blocks;
}

const SINGLETONS = ['from', 'sender', 'to', 'cc', 'bcc', 'reply-to', 'subject', 'message-id', 'date', 'mime-version', 'content-type', 'in-reply-to', 'references'];

/** RFC hygiene of mailer-rs output; `ref` is nodemailer's output for the same message. */
function hygiene(raw, ref, msg) {
  const s = raw.toString('latin1');
  assert.ok(!/[^\r]\n|^\n/.test(s), 'bare LF');
  assert.ok(!/\r(?!\n)/.test(s), 'bare CR');
  assert.ok(s.endsWith('\r\n'), 'ends with CRLF');
  for (const line of s.split('\r\n')) assert.ok(Buffer.byteLength(line, 'latin1') <= 998, `line over 998 octets: ${line.slice(0, 60)}`);
  if (msg.raw) return;
  const ours = headerBlocks(raw);
  const theirs = headerBlocks(ref);
  const refMax = Math.max(...theirs.flat().map((l) => l.length));
  const refAscii = theirs.flat().every((l) => /^[\x00-\x7f]*$/.test(l));
  for (const line of ours.flat()) {
    if (refMax <= 78) assert.ok(line.length <= 78, `header line over 78: ${line}`);
    if (refAscii) assert.ok(/^[\x00-\x7f]*$/.test(line), `8-bit header line: ${line}`);
  }
  const top = ours[0].filter((l) => !/^[ \t]/.test(l)).map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
  for (const k of SINGLETONS) assert.ok(top.filter((x) => x === k).length <= 1, `more than one ${k}`);
  for (const k of ['message-id', 'date', 'mime-version', 'content-type']) assert.equal(top.filter((x) => x === k).length, 1, `exactly one ${k}`);
  assert.equal(top.includes('bcc'), !!msg.bcc, 'Bcc header only when bcc is set (stream transport keeps it)');
}

// Known, deliberate differences (message name -> reason); empty: none.
const BYTE_EXCEPTIONS = new Map();

describe('differential composition vs nodemailer 10.6.1', () => {
  test(`corpus has at least 60 messages (${corpus.length})`, () => assert.ok(corpus.length >= 60));
  corpus.forEach(([name, build], i) => {
    test(`#${i} ${name}`, async () => {
      const msgA = build(files);
      const msgB = build(files);
      const [a, b] = await Promise.all([compose(nodemailer, msgA), compose(mailer, msgB)]);
      assert.ok(Buffer.isBuffer(b.message), 'info.message is a Buffer');
      assert.deepEqual(b.envelope, a.envelope, `#${i} envelope`);
      if (msgA.messageId) assert.equal(b.messageId, a.messageId, `#${i} messageId`);
      const [pa, pb] = await Promise.all([simpleParser(a.message), simpleParser(b.message)]);
      const va = view(pa);
      const vb = view(pb);
      for (const key of Object.keys(va)) assert.deepEqual(vb[key], va[key], `#${i} ${name}: field ${key} differs`);
      if (msgA.date) assert.equal(pb.date.getTime(), pa.date.getTime(), `#${i} date`);
      if (msgA.messageId) assert.equal(pb.messageId, pa.messageId, `#${i} Message-ID`);
      hygiene(b.message, a.message, msgA);
      if (!BYTE_EXCEPTIONS.has(name)) {
        // nodemailer writes text line breaks as given and its SMTP DataStream turns a bare LF
        // into CRLF; mailer-rs writes CRLF itself, so compare with what goes on the wire
        const ma = mask(a.message, msgA).replace(/\r?\n/g, '\r\n');
        const mb = mask(b.message, msgA);
        assert.ok(ma === mb, `#${i} ${name}: raw bytes differ at ${firstDiff(ma, mb)}`);
      }
    });
  });
});

describe('header injection', () => {
  const EVIL = 'x\r\nX-Injected: 1\r\nBcc: evil@example.com\nX-Injected: 2\rX-Injected: 3\u0000';
  const cases = {
    subject: { subject: EVIL },
    'from name': { from: { name: EVIL, address: 'a@example.com' } },
    'to address': { to: { name: 'n', address: `t@example.com${EVIL}` } },
    'address string': { to: `Name ${EVIL} <t@example.com>` },
    'cc name string': { cc: `"${EVIL}" <c@example.com>` },
    'replyTo': { replyTo: { name: EVIL, address: 'r@example.com' } },
    filename: { attachments: [{ filename: `f${EVIL}.txt`, content: 'x' }] },
    'attachment contentType': { attachments: [{ filename: 'a.txt', contentType: `text/plain${EVIL}`, content: 'x' }] },
    'attachment cid': { html: '<p>x</p>', attachments: [{ filename: 'a.png', cid: `c${EVIL}`, content: 'x' }] },
    'attachment header value': { attachments: [{ filename: 'a.txt', content: 'x', headers: { 'X-H': EVIL } }] },
    'list entries': { list: { help: `h${EVIL}@example.com`, unsubscribe: { url: `http://u${EVIL}`, comment: EVIL }, id: { url: 'l.example.com', comment: EVIL } } },
    'custom header value': { headers: { 'X-Custom': EVIL } },
    'custom header key': { headers: { [`X-Key${EVIL}`]: 'v' } },
    'prepared header value': { headers: { 'X-Prep': { prepared: true, value: EVIL } } },
    'header array entry': { headers: [{ key: `X-A${EVIL}`, value: EVIL }] },
    messageId: { messageId: `id${EVIL}@example.com` },
    inReplyTo: { inReplyTo: `p${EVIL}@example.com` },
    references: { references: [`r${EVIL}@example.com`, EVIL] },
    'date string': { date: EVIL },
    priority: { priority: EVIL },
    xMailer: { xMailer: EVIL },
    'envelope from': { envelope: { from: `e${EVIL}@example.com`, to: 't@example.com' } },
  };
  for (const [name, extra] of Object.entries(cases)) {
    test(`CR/LF/NUL in ${name} never starts a header line`, async () => {
      const msg = { from: 'f@example.com', to: 't@example.com', text: 'body', ...extra };
      const info = await compose(mailer, msg);
      const head = info.message.toString('latin1');
      assert.ok(!/(^|[\r\n])X-Injected/i.test(head), 'X-Injected header line');
      assert.ok(!/(^|[\r\n])Bcc:/i.test(head), 'Bcc header line');
      assert.ok(!head.includes('\u0000'), 'NUL written');
      assert.ok(!info.envelope.to.some((a) => /[\r\n]/.test(a)), 'CR/LF in envelope');
      assert.ok(!/[\r\n]/.test(info.envelope.from || ''), 'CR/LF in envelope from');
      hygiene(info.message, info.message, msg);
    });
  }
});

describe('href content', () => {
  const here = path.dirname(new URL(import.meta.url).pathname);
  let http;
  let https;
  let httpUrl;
  let httpsUrl;
  const seen = [];
  const handler = (req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    if (req.url.startsWith('/missing')) {
      res.writeHead(404);
      return res.end();
    }
    const body = req.url.startsWith('/page') ? '<p>remote html ✓</p>' : `remote ${req.url}`;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(body);
  };
  before(async () => {
    const { createServer } = await import('node:http');
    const { createServer: createTls } = await import('node:https');
    http = createServer(handler);
    https = createTls({ key: fs.readFileSync(path.join(here, 'fixtures/server.key')), cert: fs.readFileSync(path.join(here, 'fixtures/server.pem')) }, handler);
    await Promise.all([new Promise((r) => http.listen(0, '127.0.0.1', r)), new Promise((r) => https.listen(0, '127.0.0.1', r))]);
    httpUrl = `http://127.0.0.1:${http.address().port}`;
    httpsUrl = `https://127.0.0.1:${https.address().port}`;
  });
  after(() => {
    http.close();
    https.close();
  });

  const hrefMessage = () => ({
    from: 's@example.com',
    to: 'r@example.com',
    text: { href: `${httpUrl}/text` },
    html: { path: `${httpUrl}/page.html` },
    attachments: [
      { href: `${httpUrl}/report.csv?x=1`, httpHeaders: { 'X-Token': 'abc' } },
      { filename: 'named.txt', path: `${httpUrl}/named` },
    ],
  });

  test('http href content matches nodemailer (text, html path URL, attachments, httpHeaders)', async () => {
    const a = await compose(nodemailer, hrefMessage());
    seen.length = 0;
    const b = await compose(mailer, hrefMessage());
    const ma = mask(a.message, {}).replace(/\r?\n/g, '\r\n');
    const mb = mask(b.message, {});
    assert.ok(ma === mb, `raw bytes differ at ${firstDiff(ma, mb)}`);
    const csv = seen.find((r) => r.url === '/report.csv?x=1');
    assert.equal(csv.headers['x-token'], 'abc');
    assert.match(csv.headers['user-agent'], /^mailer-rs\//);
  });

  test('httpHeaders values go out as nodemailer sends them (composer and jsonTransport)', async () => {
    // Node's http writes String(v): numbers as JS prints them, booleans as text
    const httpHeaders = { 'X-S': 's', 'X-I': 42, 'X-D': 1e-6, 'X-E': 1e-7, 'X-G': 1.5e21, 'X-B': true, 'X-F': false };
    const sent = {};
    for (const [name, mod] of [['nodemailer', nodemailer], ['mailer-rs', mailer]]) {
      for (const opts of [{}, { jsonTransport: true, streamTransport: false }]) {
        seen.length = 0;
        const path = `/headers-${name}-${opts.jsonTransport ? 'json' : 'stream'}`;
        await compose(mod, { from: 's@example.com', to: 'r@example.com', text: 't', attachments: [{ filename: 'h.txt', href: `${httpUrl}${path}`, httpHeaders }] }, opts);
        const req = seen.find((r) => r.url === path);
        sent[path] = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('x-')));
      }
    }
    const expected = { 'x-s': 's', 'x-i': '42', 'x-d': '0.000001', 'x-e': '1e-7', 'x-g': '1.5e+21', 'x-b': 'true', 'x-f': 'false' };
    for (const [path, headers] of Object.entries(sent)) assert.deepEqual(headers, expected, path);
  });

  test('https with a self-signed certificate is rejected by default', async () => {
    const msg = { from: 's@example.com', to: 'r@example.com', text: 't', attachments: [{ href: `${httpsUrl}/secret.txt` }] };
    await assert.rejects(compose(mailer, msg), (err) => {
      assert.match(err.message, /certificate|UnknownIssuer/i);
      return true;
    });
  });

  test('https works with the part\'s tls.ca, and with rejectUnauthorized false', async () => {
    const ca = fs.readFileSync(path.join(here, 'fixtures/ca.pem'));
    for (const tls of [{ ca }, { rejectUnauthorized: false }]) {
      const info = await compose(mailer, { from: 's@example.com', to: 'r@example.com', text: 't', attachments: [{ filename: 'a.txt', href: `${httpsUrl}/tls.txt`, tls }] });
      const p = await simpleParser(info.message);
      assert.equal(p.attachments[0].content.toString(), 'remote /tls.txt');
    }
  });

  test('HTTP errors and disableUrlAccess', async () => {
    await assert.rejects(compose(mailer, { from: 's@example.com', to: 'r@example.com', attachments: [{ href: `${httpUrl}/missing` }] }), /Invalid status code 404/);
    await assert.rejects(
      compose(mailer, { from: 's@example.com', to: 'r@example.com', disableUrlAccess: true, attachments: [{ href: `http://user:pw@127.0.0.1:1/x` }] }),
      (err) => {
        assert.equal(err.code, 'EURLACCESS');
        assert.equal(err.message, 'Url access rejected for http://127.0.0.1:1/x');
        return true;
      }
    );
  });
});

describe('jsonTransport', () => {
  test('the committed nodemailer outputs (crates/message json tests) are current', async () => {
    const { generate } = await import('./fixtures/compose/json-cases.mjs');
    const committed = JSON.parse(fs.readFileSync(new URL('./fixtures/compose/json-cases.json', import.meta.url), 'utf8'));
    const fresh = await generate();
    assert.equal(fresh.length, 10);
    assert.deepEqual(JSON.parse(JSON.stringify(fresh)), committed);
  });

  test('mailer-rs jsonTransport output equals nodemailer for 10 messages', async () => {
    const { jsonCases, maskJson } = await import('./fixtures/compose/json-cases.mjs');
    const here = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'compose');
    for (const [i, build] of jsonCases.entries()) {
      const a = await nodemailer.createTransport({ jsonTransport: true }).sendMail(build(here));
      const b = await mailer.createTransport({ jsonTransport: true }).sendMail(build(here));
      assert.equal(maskJson(b.message), maskJson(a.message), `case ${i}`);
      assert.deepEqual(b.envelope, a.envelope, `case ${i} envelope`);
      const o = await mailer.createTransport({ jsonTransport: true, skipEncoding: true }).sendMail(build(here));
      assert.equal(typeof o.message, 'object');
    }
  });
});

describe('normalizeHeaderKey', () => {
  const headerNames = (buf) =>
    buf
      .toString()
      .split('\r\n')
      .filter((l) => /^[^ \t-][^:]*:/.test(l))
      .map((l) => l.split(':')[0]);

  test('the callback names every header as in nodemailer (transport option and per message)', async () => {
    const mail = {
      from: 'a@example.com',
      to: 'd@example.com',
      subject: 's',
      text: 'hi',
      html: '<b>hi</b>',
      headers: { 'x-my': '1', 'X-Other': ['a', 'b'] },
      priority: 'high',
      list: { unsubscribe: 'http://example.com/u' },
      attachments: [{ content: 'x', filename: 'a.txt', cid: 'c1', headers: { 'X-Att': 'y' } }],
    };
    const upper = (k) => k.toUpperCase();
    for (const [opts, msg] of [
      [{ normalizeHeaderKey: upper }, mail],
      [{}, { ...mail, normalizeHeaderKey: upper }],
    ]) {
      const a = await nodemailer.createTransport({ streamTransport: true, buffer: true, ...opts }).sendMail(msg);
      const b = await mailer.createTransport({ streamTransport: true, buffer: true, ...opts }).sendMail(msg);
      assert.deepEqual(headerNames(b.message), headerNames(a.message));
      assert.ok(headerNames(b.message).includes('CONTENT-TYPE'));
    }
  });

  test('a callback returning CR/LF or a colon cannot inject a header', async () => {
    const out = await mailer
      .createTransport({ streamTransport: true, buffer: true })
      .sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x', normalizeHeaderKey: (k) => (k === 'Subject' ? 'X\r\nBcc: evil' : k), subject: 's' });
    const text = out.message.toString();
    assert.doesNotMatch(text, /^Bcc: evil/m);
    assert.match(text, /^XBcc evil: s\r$/m);
  });
});
