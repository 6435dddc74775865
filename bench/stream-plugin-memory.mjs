// Memory of a stream plugin on a big message (run by hand, never in CI):
//
//   node bench/stream-plugin-memory.mjs            # 500 MB `path` attachment, 3 runs of each case
//   node bench/stream-plugin-memory.mjs --mb 100 --runs 1
//
// One message with a `path` attachment of --mb MB (a sparse file of zeros in bench/.cache: the
// library still reads and base64s every byte) goes over SMTP to a receiver that discards the data
// (a separate process). Each case runs in a fresh process that samples its own RSS every 20 ms:
// growth = peak RSS while sending - RSS just before. Cases:
//   mailer-rs, no plugin                      the plain path
//   mailer-rs, pass-through stream plugin     message -> JS Transform -> back to Rust -> socket
//   nodemailer 10.6.1, pass-through plugin    for comparison
// Prints one JSON line per run and a summary (medians).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, '..');
const CACHE = path.join(HERE, '.cache');
const require = createRequire(import.meta.url);

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

/** A receiver that accepts everything and keeps nothing. Prints its port. */
function sink() {
  const server = net.createServer((socket) => {
    let data = false;
    let line = '';
    let tail = '';
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      if (data) {
        const s = tail + chunk.toString('latin1');
        if (s.includes('\r\n.\r\n')) {
          data = false;
          tail = '';
          socket.write('250 OK: discarded\r\n');
        } else tail = s.slice(-4);
        return;
      }
      line += chunk.toString('latin1');
      let i;
      while ((i = line.indexOf('\r\n')) >= 0) {
        const cmd = line.slice(0, i).toUpperCase();
        line = line.slice(i + 2);
        if (cmd.startsWith('EHLO')) socket.write('250-sink\r\n250 8BITMIME\r\n');
        else if (cmd.startsWith('DATA')) {
          data = true;
          socket.write('354 go ahead\r\n');
          // a message right behind DATA in the same chunk
          if (line) {
            const rest = line;
            line = '';
            socket.emit('data', Buffer.from(rest, 'latin1'));
          }
          return;
        } else if (cmd.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 OK\r\n');
      }
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n'));
}

/** One measured send, in this process. */
async function client(lib, plugin, port, file) {
  const mod = lib === 'nodemailer' ? require('nodemailer') : require(ROOT);
  const t = mod.createTransport({ host: '127.0.0.1', port: Number(port), ignoreTLS: true });
  if (plugin === 'passthrough') {
    t.use('stream', (mail, done) => {
      mail.message.transform(() => new PassThrough());
      done();
    });
  }
  global.gc?.();
  const idle = process.memoryUsage.rss();
  let peak = idle;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const info = await t.sendMail({
    from: 'a@example.com',
    to: 'b@example.com',
    subject: 'big',
    text: 'see attachment',
    attachments: [{ filename: 'big.bin', path: file }],
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  t.close?.();
  const mb = (b) => Math.round((b / 1048576) * 10) / 10;
  process.stdout.write(
    JSON.stringify({ lib, plugin, ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), messageMB: mb(info.messageSize), rssIdleMB: mb(idle), rssPeakMB: mb(peak), growthMB: mb(peak - idle) }) + '\n'
  );
}

function ensureAttachment(mb) {
  mkdirSync(CACHE, { recursive: true });
  const file = path.join(CACHE, `attachment-${mb}m.bin`);
  const size = mb * 1024 * 1024;
  if (!existsSync(file) || statSync(file).size !== size) {
    const fd = openSync(file, 'w');
    ftruncateSync(fd, size);
    closeSync(fd);
  }
  return file;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const mode = process.argv[2];
  if (mode === '--sink') return sink();
  if (mode === '--client') return client(process.argv[3], process.argv[4], process.argv[5], process.argv[6]);
  const mb = Number(arg('mb', 500));
  const runs = Number(arg('runs', 3));
  const file = ensureAttachment(mb);
  const receiver = spawn(process.execPath, [fileURLToPath(import.meta.url), '--sink'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => receiver.stdout.once('data', (d) => resolve(JSON.parse(String(d)).port)));
  const cases = [
    ['mailer-rs', 'none'],
    ['mailer-rs', 'passthrough'],
    ['nodemailer', 'passthrough'],
  ];
  const results = new Map(cases.map((c) => [c.join(' '), []]));
  try {
    for (let r = 0; r < runs; r++) {
      // alternating, so a slow moment of the machine does not land on one case only
      for (const [lib, plugin] of cases) {
        const out = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--client', lib, plugin, String(port), file], {
          encoding: 'utf8',
          timeout: 15 * 60 * 1000,
        });
        const line = out.stdout.trim().split('\n').pop();
        process.stdout.write(`${line || out.stderr}\n`);
        if (line) results.get(`${lib} ${plugin}`).push(JSON.parse(line));
      }
    }
  } finally {
    receiver.kill();
  }
  process.stdout.write(`\n${mb} MB path attachment, medians of ${runs} run(s):\n`);
  for (const [name, rs] of results) {
    if (!rs.length) continue;
    process.stdout.write(`  ${name.padEnd(24)} RSS growth ${median(rs.map((x) => x.growthMB))} MB, ${median(rs.map((x) => x.ms))} ms, CPU ${median(rs.map((x) => x.cpuMs))} ms\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
