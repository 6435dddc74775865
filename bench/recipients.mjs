// How long one message with a long recipient list holds Node's event loop, mailer-rs next to
// nodemailer 10.6.1 (run by hand, not part of `npm run bench`).
//
//   node bench/recipients.mjs                       # 40k, 80k, 100k, 150k; both libraries; 3 runs
//   node bench/recipients.mjs --counts 100000 --runs 5 --libs mailer-rs
//   node bench/recipients.mjs --libs none,mailer-rs,nodemailer   # with the machine's noise floor
//
// Each run is a fresh `node` process (no JIT or heap left over from the run before) that sends
// one message with N distinct recipients (`to`, an array of strings) over SMTP to a receiver in
// another process, which answers MAIL FROM with 550: the send ends before any RCPT TO, so what is
// measured is what the library does with the list (parse, de-duplicate, build the headers and
// envelope, check maxRecipients), not the network. Reported per run: the longest event-loop
// stall (perf_hooks.monitorEventLoopDelay, 10 ms resolution, max; and the longest gap between the
// ticks of a 5 ms setInterval, which must agree) while the send was in flight,
// the time until sendMail settled, and its outcome (550 = composed and sent off;
// EMAXRECIPIENTS = refused at nodemailer's default limit of 100,000). Medians are printed last.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};

if (args[0] === '--server') {
  // The receiver: EHLO without PIPELINING, every MAIL FROM refused.
  const srv = net.createServer((sock) => {
    sock.setEncoding('latin1');
    sock.write('220 localhost ESMTP\r\n');
    let buf = '';
    sock.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (/^EHLO /i.test(line)) sock.write('250-localhost\r\n250 8BITMIME\r\n');
        else if (/^MAIL FROM/i.test(line)) sock.write('550 5.7.1 refused by the benchmark\r\n');
        else if (/^QUIT/i.test(line)) sock.end('221 bye\r\n');
        else sock.write('503 5.5.1 bad sequence\r\n');
      }
    });
    sock.on('error', () => {});
  });
  srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
} else if (args[0] === '--client') {
  const [, lib, count, port] = args;
  // `none`: the same process doing nothing for 500 ms, the noise floor of the machine
  const mod =
    lib === 'none'
      ? { createTransport: () => ({ sendMail: () => new Promise((r) => setTimeout(r, 500)), close() {} }) }
      : lib === 'nodemailer'
        ? require('nodemailer')
        : require('../index.js');
  const to = Array.from({ length: Number(count) }, (_, i) => `user${i}@example.com`);
  const t = mod.createTransport({ host: '127.0.0.1', port: Number(port), ignoreTLS: true });
  const h = monitorEventLoopDelay({ resolution: 10 });
  // a settled loop first: building the array above is the benchmark's, not the library's
  await new Promise((r) => setTimeout(r, 50));
  h.enable();
  // and a plain ticker: the longest gap between two 5 ms ticks (the same stall, measured without
  // the histogram's own timer)
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 5);
  const start = process.hrtime.bigint();
  let outcome;
  try {
    await t.sendMail({ from: 'bench@example.com', to, subject: 'many recipients', text: 'hello' });
    outcome = 'sent';
  } catch (err) {
    outcome = err.responseCode ? String(err.responseCode) : err.code;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // one more turn of the loop so a stall that ended with the send is recorded
  await new Promise((r) => setTimeout(r, 20));
  h.disable();
  clearInterval(ticker);
  t.close();
  console.log(JSON.stringify({ lib, count: Number(count), maxDelayMs: h.max / 1e6, maxGapMs: maxGap, settleMs: ms, outcome }));
} else {
  const counts = opt('--counts', '40000,80000,100000,150000').split(',').map(Number);
  const libs = opt('--libs', 'mailer-rs,nodemailer').split(',');
  const runs = Number(opt('--runs', '3'));
  const server = spawn(process.execPath, [SELF, '--server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((r) => server.stdout.once('data', (d) => r(String(d).trim())));
  const run = (lib, count) =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [SELF, '--client', lib, String(count), port], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${lib} ${count}: exit ${code}`))));
    });
  const results = [];
  for (const count of counts) {
    for (let r = 0; r < runs; r++) {
      // alternating libraries within a round, so both see the same machine load
      for (const lib of libs) {
        const res = await run(lib, count);
        results.push(res);
        console.log(JSON.stringify(res));
      }
    }
  }
  server.kill();
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  };
  console.log('\n| recipients | library | max event-loop delay (ms, median) | longest 5 ms tick gap (ms, median) | sendMail settles after (ms, median) | outcome |');
  console.log('|---:|---|---:|---:|---:|---|');
  for (const count of counts) {
    for (const lib of libs) {
      const rs = results.filter((x) => x.lib === lib && x.count === count);
      const outcomes = [...new Set(rs.map((x) => x.outcome))].join(', ');
      console.log(`| ${count.toLocaleString('en')} | ${lib} | ${median(rs.map((x) => x.maxDelayMs)).toFixed(0)} | ${median(rs.map((x) => x.maxGapMs)).toFixed(0)} | ${median(rs.map((x) => x.settleMs)).toFixed(0)} | ${outcomes} |`);
    }
  }
}
