// Transporter churn (run by hand, not a test): applications that call createTransport() per
// request. Each cycle is createTransport -> one sendMail -> close(); the RSS and JS heap are
// sampled (after gc()) every tenth of the run. mailer-rs and nodemailer run the same loop, each
// in its own process, against Postfix's smtp-sink on loopback (bench/setup.sh).
//
//   node bench/churn.mjs                              # 100,000 cycles per library and mode
//   node bench/churn.mjs --n 20000 --modes json,smtp  # fewer, or a subset
//   node bench/churn.mjs --smtp-n 20000               # fewer SMTP cycles (json keeps --n)
//
// Modes: json (jsonTransport), smtp (a new connection per message), pool (pool: true, one
// message, close()). Prints one JSON line per run and a table: growth is the RSS after the
// last cycle minus the RSS after the first 200 cycles (warm: code loaded, first connections
// made), and the RSS at the end minus the RSS half-way (whether it has levelled off); all after gc().
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { postfixTools, startSmtpSink, killOnExit, ROOT } from './lib/common.mjs';

const HERE = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;

async function child(lib, mode, n, port) {
  const { createRequire } = await import('node:module');
  const require = createRequire(path.join(ROOT, 'package.json'));
  const { createTransport } = require(lib === 'mailer-rs' ? ROOT : 'nodemailer');
  const opts = mode === 'json' ? { jsonTransport: true } : { host: '127.0.0.1', port, pool: mode === 'pool', ignoreTLS: true };
  const msg = { from: 'churn@example.com', to: 'sink@example.com', subject: 'churn', text: 'Hello from the churn benchmark' };
  const sample = async (i) => {
    for (let k = 0; k < 3; k++) {
      await new Promise((r) => setTimeout(r, 5));
      global.gc();
    }
    const m = process.memoryUsage();
    return { i, rssMB: +(m.rss / MB).toFixed(1), heapMB: +(m.heapUsed / MB).toFixed(1) };
  };
  const samples = [];
  const step = Math.max(1, Math.floor(n / 10));
  const base = Math.min(200, n);
  const started = Date.now();
  let failed = 0;
  for (let i = 1; i <= n; i++) {
    const t = createTransport(opts);
    try {
      await t.sendMail(msg);
    } catch {
      failed++;
    }
    t.close();
    if (i === base || i % step === 0) samples.push(await sample(i));
  }
  const s0 = samples[0];
  const s1 = samples[samples.length - 1];
  console.log(
    JSON.stringify({
      lib,
      mode,
      n,
      failed,
      seconds: +((Date.now() - started) / 1000).toFixed(1),
      rssStartMB: s0.rssMB,
      rssEndMB: s1.rssMB,
      rssGrowthMB: +(s1.rssMB - s0.rssMB).toFixed(1),
      rssSecondHalfMB: +(s1.rssMB - samples[Math.floor(samples.length / 2)].rssMB).toFixed(1),
      heapGrowthMB: +(s1.heapMB - s0.heapMB).toFixed(1),
      samples,
    })
  );
}

function runChild(lib, mode, n, port) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--expose-gc', HERE, '--child', lib, mode, String(n), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => {
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`${lib} ${mode}: exit ${code}`));
      resolve(JSON.parse(line));
    });
  });
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1], args[2], Number(args[3]), Number(args[4]));
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const n = Number(opt('n', 100000));
  const smtpN = Number(opt('smtp-n', n));
  const modes = opt('modes', 'json,smtp,pool').split(',');
  const libs = opt('libs', 'mailer-rs,nodemailer').split(',');
  killOnExit();
  const sink = modes.some((m) => m !== 'json') ? await startSmtpSink(postfixTools()) : null;
  const results = [];
  try {
    for (const mode of modes) {
      for (const lib of libs) {
        const r = await runChild(lib, mode, mode === 'json' ? n : smtpN, sink ? sink.port : 0);
        console.log(JSON.stringify(r));
        results.push(r);
      }
    }
  } finally {
    if (sink) await sink.stop();
  }
  console.log('\n| mode | library | cycles | failed | seconds | RSS after 200 | RSS at end | RSS growth | of which 2nd half | heap growth |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.mode} | ${r.lib} | ${r.n} | ${r.failed} | ${r.seconds} | ${r.rssStartMB} MB | ${r.rssEndMB} MB | ${r.rssGrowthMB} MB | ${r.rssSecondHalfMB} MB | ${r.heapGrowthMB} MB |`
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
