#!/usr/bin/env node
// The sequential floor for any Node library: scenario 1's protocol (new connection, greeting,
// EHLO, MAIL+RCPT+DATA pipelined, a 3-line message, close) on a bare `net` socket, with no
// composition, parsing or error handling beyond counting replies.
//   node bench/floor/raw-sequential.mjs <port> [N=2000]
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const port = Number(process.argv[2]);
const n = Number(process.argv[3] || 2000);
if (!(port > 0)) {
  process.stderr.write('usage: node bench/floor/raw-sequential.mjs <port> [N]\n');
  process.exit(2);
}

function one(i) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let buf = '';
    let replies = 0;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (let m; (m = /^(\d{3})([ -])[^\n]*\n/.exec(buf)); ) {
        buf = buf.slice(m[0].length);
        if (m[2] === '-') continue; // a continuation line, not the end of a reply
        replies++;
        if (replies === 1) s.write('EHLO floor\r\n');
        else if (replies === 2) s.write('MAIL FROM:<bench@example.com>\r\nRCPT TO:<sink@example.com>\r\nDATA\r\n');
        else if (replies === 5) s.write(`From: bench@example.com\r\nTo: sink@example.com\r\nSubject: bench ${i}\r\n\r\nBenchmark message body\r\n.\r\n`);
        else if (replies === 6) {
          if (!m[1].startsWith('2')) return reject(new Error(`message ${i}: ${m[0].trim()}`));
          s.end();
          resolve();
        }
      }
    });
    s.on('error', reject);
  });
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < n; i++) await one(i);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ lib: 'raw-net', scenario: 1, n, msgsPerSec: Math.round((n / ms) * 10000) / 10, cpuMsPerMsg: Math.round(((cpu.user + cpu.system) / 1000 / n) * 10000) / 10000 }) + '\n');
