// DKIM signing (issue 8): messages sent through mailer-rs with `dkim` set, checked by an
// independent verifier (mailauth, by nodemailer's author) that looks the public keys up through a
// test resolver instead of DNS. Skipped while the transport still refuses `dkim` (the binding
// wiring described in docs/dkim.md is not in yet); the signer itself is unit tested in
// crates/message/src/dkim.rs against nodemailer's own output.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { createTransport } from '../index.mjs';
import { startSmtpServer } from './helpers/smtp.mjs';

const require = createRequire(import.meta.url);
const { dkimVerify } = require('mailauth/lib/dkim/verify');

const here = path.dirname(fileURLToPath(import.meta.url));
const ca = fs.readFileSync(path.join(here, 'fixtures', 'ca.pem'), 'utf8');

// Test-only keys, made per run.
const rsaA = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaB = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = crypto.generateKeyPairSync('ed25519');
const KEY_A = rsaA.privateKey.export({ type: 'pkcs1', format: 'pem' });
const KEY_B = rsaB.privateKey.export({ type: 'pkcs8', format: 'pem' });
const KEY_ED = ed.privateKey.export({ type: 'pkcs8', format: 'pem' });

const spki = (k) => k.export({ type: 'spki', format: 'der' });
const RECORDS = {
  'a._domainkey.example.com': `v=DKIM1; k=rsa; p=${spki(rsaA.publicKey).toString('base64')}`,
  'b._domainkey.example.net': `v=DKIM1; k=rsa; p=${spki(rsaB.publicKey).toString('base64')}`,
  // an Ed25519 record holds the raw 32-byte key (RFC 8463), not the SPKI wrapper
  'ed._domainkey.example.org': `v=DKIM1; k=ed25519; p=${spki(ed.publicKey).subarray(12).toString('base64')}`,
};

async function resolver(name, type) {
  if (type === 'TXT' && RECORDS[name]) return [[RECORDS[name]]];
  throw Object.assign(new Error(`no record for ${name}`), { code: 'ENOTFOUND' });
}

/** mailauth's verdicts, in signature order: [{ domain, selector, result, comment, algo, headers }]. */
async function verify(raw) {
  const { results } = await dkimVerify(Buffer.from(raw), { resolver });
  return results.map((r) => ({
    domain: r.signingDomain,
    selector: r.selector,
    result: r.status.result,
    comment: r.status.comment,
    algo: r.algo,
    headers: r.signingHeaders && r.signingHeaders.keys,
  }));
}

const KEY_COM = { domainName: 'example.com', keySelector: 'a', privateKey: KEY_A };
const KEY_NET = { domainName: 'example.net', keySelector: 'b', privateKey: KEY_B };
const KEY_ORG = { domainName: 'example.org', keySelector: 'ed', privateKey: KEY_ED };

const msg = (extra = {}) => ({
  from: 'Sender <sender@example.com>',
  to: 'Rcpt <rcpt@example.org>',
  subject: 'Hëllo DKIM',
  text: 'line one  \n\ttabbed   \n\n\n',
  html: '<p>Hello</p>',
  ...extra,
});

/** Sends `data` through smtp-server with transport options `opts`; the raw message received. */
async function sendSmtp(opts, data) {
  const srv = await startSmtpServer();
  try {
    const t = createTransport({ host: '127.0.0.1', port: srv.port, tls: { ca }, ...opts });
    await t.sendMail(data);
    assert.equal(srv.messages.length, 1);
    return srv.messages[0].raw;
  } finally {
    await srv.close();
  }
}

describe('dkim', () => {
  test('single key over SMTP: pass; an altered body or signed header does not', async () => {
    const raw = await sendSmtp({ dkim: KEY_COM }, msg());
    const text = raw.toString('latin1');
    assert.match(text, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.com;\r\n q=dns\/txt; s=a; bh=/);
    assert.deepEqual(
      (await verify(raw)).map((r) => [r.domain, r.selector, r.result, r.algo, r.headers]),
      [['example.com', 'a', 'pass', 'rsa-sha256', 'From: Subject: Date: Message-ID: To: MIME-Version: Content-Type']]
    );
    const body = Buffer.from(text.replace('line one', 'line 0ne'), 'latin1');
    assert.deepEqual((await verify(body)).map((r) => [r.result, r.comment]), [['neutral', 'body hash did not verify']]);
    const header = Buffer.from(text.replace(/^Subject: .*$/m, 'Subject: changed'), 'latin1');
    assert.deepEqual((await verify(header)).map((r) => [r.result, r.comment]), [['fail', 'bad signature']]);
  });

  test('several keys: one signature each, in key order (RSA PKCS#1, RSA PKCS#8, Ed25519)', async () => {
    const raw = await sendSmtp({ dkim: { keys: [KEY_COM, KEY_NET, KEY_ORG] } }, msg());
    assert.deepEqual(
      (await verify(raw)).map((r) => [r.domain, r.result, r.algo]),
      [
        ['example.com', 'pass', 'rsa-sha256'],
        ['example.net', 'pass', 'rsa-sha256'],
        ['example.org', 'pass', 'ed25519-sha256'],
      ]
    );
  });

  test('a per-message dkim replaces the transport one', async () => {
    const raw = await sendSmtp({ dkim: KEY_COM }, msg({ dkim: KEY_NET }));
    assert.deepEqual((await verify(raw)).map((r) => [r.domain, r.result]), [['example.net', 'pass']]);
  });

  test('per-message dkim without a transport one', async () => {
    const raw = await sendSmtp({}, msg({ dkim: { keys: [KEY_ORG] } }));
    assert.deepEqual((await verify(raw)).map((r) => [r.domain, r.result]), [['example.org', 'pass']]);
  });

  test('skipFields and headerFieldNames choose the signed fields', async () => {
    let raw = await sendSmtp({ dkim: { ...KEY_COM, skipFields: 'Subject:Date:message-id' } }, msg());
    assert.deepEqual((await verify(raw)).map((r) => [r.result, r.headers]), [['pass', 'From: To: MIME-Version: Content-Type']]);
    // an unsigned Subject may change
    const changed = Buffer.from(raw.toString('latin1').replace(/^Subject: .*$/m, 'Subject: changed'), 'latin1');
    assert.deepEqual((await verify(changed)).map((r) => r.result), ['pass']);

    raw = await sendSmtp({ dkim: { ...KEY_COM, headerFieldNames: 'To:From:X-Extra' } }, msg({ headers: { 'X-Extra': 'yes' } }));
    assert.deepEqual((await verify(raw)).map((r) => [r.result, r.headers]), [['pass', 'To: From: X-Extra']]);
  });

  test('a 3 MB attachment goes through cacheDir and the cache file is removed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-dkim-'));
    const file = path.join(dir, 'big.bin');
    fs.writeFileSync(file, crypto.randomBytes(3 * 1024 * 1024));
    const cacheDir = path.join(dir, 'cache');
    fs.mkdirSync(cacheDir);
    try {
      const raw = await sendSmtp({ dkim: { ...KEY_COM, cacheDir } }, msg({ attachments: [{ path: file }] }));
      assert.ok(raw.length > 4 * 1024 * 1024);
      assert.deepEqual((await verify(raw)).map((r) => r.result), ['pass']);
      assert.deepEqual(fs.readdirSync(cacheDir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('streamTransport output is signed', async () => {
    const t = createTransport({ streamTransport: true, buffer: true, dkim: { keys: [KEY_COM, KEY_ORG] } });
    const info = await t.sendMail(msg());
    assert.deepEqual((await verify(info.message)).map((r) => [r.domain, r.result]), [
      ['example.com', 'pass'],
      ['example.org', 'pass'],
    ]);
  });

  test('hashAlgo other than sha256 is refused with ECONFIG', async () => {
    const t = createTransport({ streamTransport: true, buffer: true, dkim: { ...KEY_COM, hashAlgo: 'sha1' } });
    await assert.rejects(t.sendMail(msg()), { code: 'ECONFIG', message: 'Unsupported DKIM hash algorithm "sha1"' });
  });

  test('an unreadable key leaves its signature out, as nodemailer does', async () => {
    const t = createTransport({
      streamTransport: true,
      buffer: true,
      dkim: { keys: [{ domainName: 'bad.example', keySelector: 'x', privateKey: 'not a key' }, KEY_NET] },
    });
    const info = await t.sendMail(msg());
    assert.deepEqual((await verify(info.message)).map((r) => [r.domain, r.result]), [['example.net', 'pass']]);
  });
});

before(() => {
  // mailauth must be the pinned devDependency, not a stray copy
  assert.equal(require('mailauth/package.json').version, '7.1.0');
});
