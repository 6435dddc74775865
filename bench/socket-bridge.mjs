#!/usr/bin/env node
// A 10 MB message through a socket made in JS (`getSocket` with net.connect: every byte crosses
// the JS <-> Rust bridge) against the same message on mailer-rs's own TCP connection, and
// nodemailer for reference. Each send runs in a fresh process (time of sendMail, peak RSS of the
// process); the receiver is a minimal sink in another process.
//   node bench/socket-bridge.mjs [runs=5] [MB=10]
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

/** The sink: greeting, EHLO, MAIL/RCPT/DATA, body up to the terminator, QUIT. */
function sink() {
  const server = net.createServer((s) => {
    s.write('220 sink\r\n');
    let inData = false;
    let tail = '';
    let line = '';
    s.on('data', (d) => {
      if (inData) {
        const t = tail + d.toString('latin1', Math.max(0, d.length - 8));
        if (t.endsWith('\r\n.\r\n')) {
          inData = false;
          s.write('250 2.0.0 queued\r\n');
        }
        tail = t.slice(-8);
        return;
      }
      line += d.toString('latin1');
      let i;
      while ((i = line.indexOf('\n')) >= 0) {
        const cmd = line.slice(0, i).trim().toUpperCase();
        line = line.slice(i + 1);
        if (cmd.startsWith('EHLO')) s.write('250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
        else if (cmd.startsWith('MAIL') || cmd.startsWith('RCPT')) s.write('250 ok\r\n');
        else if (cmd === 'DATA') {
          s.write('354 go\r\n');
          inData = true;
          tail = '';
          if (line.length) {
            const rest = Buffer.from(line, 'latin1');
            line = '';
            s.emit('data', rest);
          }
          return;
        } else if (cmd === 'QUIT') {
          s.end('221 bye\r\n');
        } else if (cmd) s.write('250 ok\r\n');
      }
    });
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
}

async function client(mode, port, mb) {
  const lib = mode === 'nodemailer' ? (await import('nodemailer')).default : await import(`${root}index.mjs`);
  const options = { host: '127.0.0.1', port, ignoreTLS: true };
  if (mode === 'bridge') {
    options.getSocket = (o, cb) => {
      const s = net.connect(o.port, '127.0.0.1', () => cb(null, { connection: s }));
      s.once('error', cb);
    };
  }
  const t = lib.createTransport(options);
  // 10 MB of 76-character lines: no encoding work beyond dot-stuffing
  const line = 'x'.repeat(76) + '\r\n';
  const body = Buffer.from(line.repeat(Math.ceil((mb * 1024 * 1024) / line.length)));
  const raw = Buffer.concat([Buffer.from('From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\n\r\n'), body]);
  const start = performance.now();
  const info = await t.sendMail({ envelope: { from: 'a@example.com', to: ['b@example.com'] }, raw });
  const ms = performance.now() - start;
  if (!/^250/.test(info.response)) throw new Error(info.response);
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ ms, rssMB: process.resourceUsage().maxRSS / 1024, cpuMs: (cpu.user + cpu.system) / 1000 }) + '\n');
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function main() {
  const runs = Number(process.argv[2] || 5);
  const mb = Number(process.argv[3] || 10);
  const child = spawn(process.execPath, [self, '--sink'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const modes = ['direct', 'bridge', 'nodemailer'];
  const results = Object.fromEntries(modes.map((m) => [m, []]));
  try {
    for (let r = 0; r < runs; r++) {
      for (const mode of modes) {
        const out = spawnSync(process.execPath, [self, '--client', mode, String(port), String(mb)], { encoding: 'utf8' });
        if (out.status !== 0) throw new Error(`${mode}: ${out.stderr}`);
        results[mode].push(JSON.parse(out.stdout.trim().split('\n').pop()));
      }
    }
  } finally {
    child.kill();
  }
  console.log(`${mb} MB message, ${runs} runs each (median; process totals include Node's start-up)`);
  console.log('mode        sendMail ms   peak RSS MB   process CPU ms');
  for (const mode of modes) {
    const r = results[mode];
    const label = { direct: 'mailer-rs direct', bridge: 'mailer-rs getSocket', nodemailer: 'nodemailer' }[mode];
    console.log(
      `${label.padEnd(20)} ${median(r.map((x) => x.ms)).toFixed(0).padStart(6)} ${median(r.map((x) => x.rssMB)).toFixed(0).padStart(12)} ${median(r.map((x) => x.cpuMs)).toFixed(0).padStart(14)}   (runs: ${r.map((x) => x.ms.toFixed(0)).join(', ')})`
    );
  }
}

if (process.argv[2] === '--sink') sink();
else if (process.argv[2] === '--client') client(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
else main();
