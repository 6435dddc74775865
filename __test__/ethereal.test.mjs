// createTestAccount against a local Ethereal API endpoint (POST <apiUrl>/user), side by side
// with nodemailer 10.6.1: the request, the account, caching, errors, callback and promise forms.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mailer = require('../index.js');
const nodemailer = require('../node_modules/nodemailer');
const pkg = require('../package.json');

const ACCOUNT = {
  status: 'success',
  user: 'jane.doe@ethereal.email',
  pass: 'pass1234',
  smtp: { host: 'smtp.ethereal.email', port: 587, secure: false },
  imap: { host: 'imap.ethereal.email', port: 993, secure: true },
  pop3: { host: 'pop3.ethereal.email', port: 995, secure: true },
  web: 'https://ethereal.example',
  mxEnabled: false,
};

function startApi() {
  const api = { requests: [], answer: () => ({ status: 200, body: JSON.stringify(ACCOUNT) }) };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      api.requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const a = api.answer();
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      api.url = `http://127.0.0.1:${server.address().port}`;
      api.close = () => new Promise((r) => server.close(r));
      resolve(api);
    })
  );
}

const ENV = ['ETHEREAL_API', 'ETHEREAL_API_KEY', 'ETHEREAL_CACHE', 'ETHEREAL_WEB'];

describe('createTestAccount', () => {
  let api;
  const saved = {};
  before(async () => {
    api = await startApi();
    for (const k of ENV) saved[k] = process.env[k];
  });
  after(async () => {
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await api.close();
  });
  beforeEach(() => {
    for (const k of ENV) delete process.env[k];
    // every test but the caching one asks the API each time
    process.env.ETHEREAL_CACHE = 'no';
    api.answer = () => ({ status: 200, body: JSON.stringify(ACCOUNT) });
  });

  test('POST <apiUrl>/user with requestor and version as JSON; the account without status', async () => {
    const n = api.requests.length;
    const account = await mailer.createTestAccount(api.url);
    const { status: _s, ...expected } = ACCOUNT;
    assert.deepEqual(account, expected);
    const req = api.requests[n];
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/user');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers.authorization, undefined);
    assert.deepEqual(JSON.parse(req.body), { requestor: 'mailer-rs', version: pkg.version });
    // nodemailer sends the same request with its own name
    await nodemailer.createTestAccount(api.url);
    const theirs = api.requests[n + 1];
    assert.deepEqual([theirs.method, theirs.url, theirs.headers['content-type']], [req.method, req.url, req.headers['content-type']]);
    assert.deepEqual(Object.keys(JSON.parse(theirs.body)), Object.keys(JSON.parse(req.body)));
  });

  test('ETHEREAL_API (trailing slashes dropped) and ETHEREAL_API_KEY as a Bearer token; callback form', async () => {
    process.env.ETHEREAL_API = api.url + '//';
    process.env.ETHEREAL_API_KEY = ' key-123 ';
    const n = api.requests.length;
    const account = await new Promise((resolve, reject) => mailer.createTestAccount((err, acc) => (err ? reject(err) : resolve(acc))));
    assert.equal(account.user, ACCOUNT.user);
    assert.equal(api.requests[n].url, '/user');
    assert.equal(api.requests[n].headers.authorization, 'Bearer key-123');
    // (apiUrl, callback)
    const again = await new Promise((resolve, reject) => mailer.createTestAccount(api.url, (err, acc) => (err ? reject(err) : resolve(acc))));
    assert.equal(again.pass, ACCOUNT.pass);
  });

  test('errors as nodemailer: the API error text, "Request failed", bad JSON, HTTP status', async () => {
    const cases = [
      [{ status: 200, body: JSON.stringify({ status: 'error', error: 'Too many accounts' }) }, { message: 'Too many accounts' }],
      [{ status: 200, body: JSON.stringify({ status: 'pending' }) }, { message: 'Request failed' }],
      [{ status: 200, body: 'not json' }, { name: 'SyntaxError' }],
      [{ status: 500, body: '{}' }, { message: 'Invalid status code 500', code: 'EFETCH' }],
    ];
    for (const [answer, expected] of cases) {
      api.answer = () => answer;
      for (const mod of [mailer, nodemailer]) {
        await assert.rejects(mod.createTestAccount(api.url), expected, `${mod === mailer ? 'mailer-rs' : 'nodemailer'}: ${answer.body}`);
      }
    }
    // nothing listens there
    await assert.rejects(mailer.createTestAccount('http://127.0.0.1:1'), { code: 'EFETCH' });
  });

  test('the account is cached for the process unless ETHEREAL_CACHE says no; getTestMessageUrl uses its web address', async () => {
    delete process.env.ETHEREAL_CACHE;
    const first = await mailer.createTestAccount(api.url);
    const n = api.requests.length;
    const second = await mailer.createTestAccount(api.url);
    assert.equal(second, first, 'the same object');
    assert.equal(api.requests.length, n, 'no second request');
    process.env.ETHEREAL_CACHE = 'no';
    const third = await mailer.createTestAccount(api.url);
    assert.notEqual(third, first);
    assert.equal(api.requests.length, n + 1);
    const info = { response: '250 Accepted [STATUS=new MSGID=abc.def@ethereal.email]' };
    assert.equal(mailer.getTestMessageUrl(info), 'https://ethereal.example/message/abc.def@ethereal.email');
  });
});
