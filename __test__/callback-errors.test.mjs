// A sendMail or verify callback that throws: mailer-rs does what nodemailer 10.6.1 does, checked by
// running both in a child process with no 'uncaughtException' handler against the same server.
// nodemailer (lib/smtp-transport/index.js, lib/smtp-pool/index.js) catches the throw, logs it at
// error level (tnx 'callback') and keeps running for every pooled send callback and for a
// non-pooled send that succeeded; a non-pooled send that failed and a verify callback throw out
// as uncaught exceptions (a `if (err) throw err` start-up check still stops the process).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSmtpServer } from './helpers/smtp.mjs';
import { runNode } from './helpers/child.mjs';


// The child: one transporter with a logger that prints its error lines as JSON, one call whose
// callback throws, then 'STILL RUNNING' and a clean exit if the process survived.
const SURVIVAL_WINDOW_MS = 200;
const CHILD = `
const [lib, pool, call, port] = process.argv.slice(1);
const m = require(lib === 'nodemailer' ? 'nodemailer' : './index.js');
const noop = () => {};
const logger = { trace: noop, debug: noop, info: noop, warn: noop, fatal: noop,
  error: (entry, format, ...args) => console.log('LOG ' + JSON.stringify({ tnx: entry.tnx, err: entry.err && entry.err.message })) };
const t = m.createTransport({ host: '127.0.0.1', port: Number(port), pool: pool === 'pool', ignoreTLS: true, logger });
// time that must pass, not an event: an uncaught exception would end the process within it
const done = () => setTimeout(() => { console.log('STILL RUNNING'); t.close(); }, ${SURVIVAL_WINDOW_MS});
const mail = (to) => ({ from: 'sender@example.com', to, text: 'hi' });
if (call === 'verify') t.verify(() => { done(); throw new Error('thrown by verify callback'); });
else t.sendMail(mail(call === 'rejected' ? 'bad@example.com' : 'good@example.com'), (err) => {
  done();
  throw new Error('thrown by ' + (err ? 'failed' : 'sent') + ' callback');
});
`;

async function runChild(lib, pool, call, port) {
  const { code, out, err } = await runNode(['-e', CHILD, lib, pool, call, String(port)]);
  const logged = out
    .split('\n')
    .filter((l) => l.startsWith('LOG '))
    .map((l) => JSON.parse(l.slice(4)))
    .filter((e) => e.tnx === 'callback');
  return { code, running: out.includes('STILL RUNNING'), logged, uncaught: /Error: thrown by/.test(err), stderr: err };
}

describe('a throwing callback, as in nodemailer', () => {
  let srv;
  before(async () => {
    srv = await startSmtpServer({ rejectRcpt: (a) => a.startsWith('bad') });
  });
  after(() => srv.close());

  const cases = [
    // [pool, call, survives]
    ['single', 'sent', true],
    ['pool', 'sent', true],
    ['pool', 'rejected', true],
    ['single', 'rejected', false],
    ['single', 'verify', false],
    ['pool', 'verify', false],
  ];
  for (const [pool, call, survives] of cases) {
    test(`${pool} transport, ${call} callback throws: ${survives ? 'logged, process keeps running' : 'uncaught exception'}`, async () => {
      const [ours, theirs] = await Promise.all([runChild('mailer-rs', pool, call, srv.port), runChild('nodemailer', pool, call, srv.port)]);
      // the reference behaviour itself, so a change in nodemailer shows up here
      assert.equal(theirs.running, survives, theirs.stderr);
      if (survives) {
        assert.equal(ours.code, 0, ours.stderr);
        assert.ok(ours.running, ours.stderr);
        assert.equal(ours.uncaught, false);
        const want = call === 'sent' ? 'thrown by sent callback' : 'thrown by failed callback';
        assert.deepEqual(ours.logged, [{ tnx: 'callback', err: want }]);
        assert.deepEqual(theirs.logged, ours.logged);
      } else {
        assert.notEqual(ours.code, 0);
        assert.equal(ours.running, false);
        assert.ok(ours.uncaught, ours.stderr);
        assert.deepEqual(ours.logged, []);
      }
    });
  }
});
