#!/usr/bin/env node
// Benchmark driver (`npm run bench`). Runs bench/client.mjs once per measurement, alternating the
// libraries A B A B (A = mailer-rs, B = nodemailer), plus smtp-source's ceiling in the same rounds.
// Usage: node bench/run.mjs [--scenarios 1,2,...] [--runs 5] [--quick] [--libs mailer-rs,nodemailer]
//                           [--no-ceiling] [--out bench/results/latest]
// See bench/README.md for what each scenario measures and the goals.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, ftruncateSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BENCH_DIR,
  CACHE,
  CEILING_SCENARIOS,
  ROOT,
  SCENARIOS,
  SIZES,
  killOnExit,
  lastJson,
  machineInfo,
  median,
  postfixTools,
  ratio,
  runTimed,
  startSmtpSink,
  stopChild,
  track,
} from './lib/common.mjs';
import { renderSvg } from './lib/chart.mjs';
import { evaluateGoals, formatTable } from './lib/report.mjs';

const A = 'mailer-rs';
const B = 'nodemailer';

export function parseCli(argv) {
  const o = { scenarios: Object.keys(SCENARIOS).map(Number), runs: null, quick: false, libs: [A, B], ceiling: true, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (argv[i + 1] === undefined) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--scenarios') {
      o.scenarios = next().split(',').map((s) => Number(s.trim()));
      for (const s of o.scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s} (1-7)`);
    } else if (a === '--runs') {
      o.runs = Number(next());
      if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a positive integer');
    } else if (a === '--quick') o.quick = true;
    else if (a === '--libs') o.libs = next().split(',').map((s) => s.trim());
    else if (a === '--no-ceiling') o.ceiling = false;
    else if (a === '--out') o.out = next();
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.runs === null) o.runs = o.quick ? 1 : 5;
  // Quick runs never overwrite the committed results.
  if (!o.out) o.out = path.join(BENCH_DIR, 'results', o.quick ? 'quick-latest' : 'latest');
  return o;
}

/** Checks once whether a library loads, in a throw-away process (a broken addon may abort). */
function probeLib(lib) {
  const target = lib === B ? path.join(ROOT, 'node_modules', 'nodemailer') : lib === A ? ROOT : path.resolve(lib);
  const r = spawnSync(process.execPath, ['-e', `const m=require(${JSON.stringify(target)}); if (typeof (m.createTransport||m.default?.createTransport)!=='function') throw new Error('no createTransport export')`], {
    encoding: 'utf8',
    timeout: 30000,
  });
  if (r.status === 0) return null;
  const msg = (r.stderr || '').split('\n').find((l) => /Error|error:/.test(l)) || `exit ${r.status}`;
  return msg.trim().slice(0, 200);
}

function ensureAttachment(mb) {
  mkdirSync(CACHE, { recursive: true });
  const file = path.join(CACHE, `attachment-${mb}m.bin`);
  const size = mb * 1024 * 1024;
  if (!existsSync(file) || statSync(file).size !== size) {
    // Sparse file of zeros: created instantly, no disk used; the client still reads and base64s
    // every byte, which is what scenario 6 measures (memory while streaming, not entropy).
    const fd = openSync(file, 'w');
    ftruncateSync(fd, size);
    closeSync(fd);
  }
  return file;
}

async function startOauthServer() {
  const child = track(spawn(process.execPath, [path.join(BENCH_DIR, 'oauth-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const info = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('oauth-server did not start in 15 s')), 15000);
    child.stdout.on('data', (d) => {
      buf += d;
      const j = lastJson(buf);
      if (j && j.ready) {
        clearTimeout(timer);
        resolve(j);
      }
    });
    child.once('exit', (code) => reject(new Error(`oauth-server exited (${code})`)));
  });
  const base = `http://127.0.0.1:${info.tokenPort}`;
  return {
    port: info.smtpPort,
    tokenUrl: `${base}/token`,
    reset: () => fetch(`${base}/reset`, { method: 'POST' }).then((r) => r.json()),
    stats: () => fetch(`${base}/stats`).then((r) => r.json()),
    stop: () => stopChild(child),
  };
}

async function runClient(lib, scenario, n, ctx) {
  const port = scenario === 5 ? ctx.oauth.port : scenario === 7 ? 0 : ctx.sink.port;
  const args = [path.join(BENCH_DIR, 'client.mjs'), lib, String(scenario), String(n), String(port)];
  if (scenario === 5) args.push('--token-url', ctx.oauth.tokenUrl);
  if (scenario === 6) args.push('--attachment', ctx.attachment);
  if (scenario === 5) await ctx.oauth.reset();
  const r = await runTimed(process.execPath, args);
  const j = lastJson(r.stdout) || {};
  const rec = { kind: 'lib', lib, scenario, n, exitCode: r.code, signal: r.signal, time: r.time, client: j };
  if (r.code === 3) rec.skipped = j.skipped || 'skipped';
  else if (r.code !== 0) rec.error = (j.error && (j.error.message || j.error)) || r.stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${r.code}`;
  if (scenario === 5) rec.server = await ctx.oauth.stats();
  return rec;
}

async function runCeiling(scenario, n, reused, ctx) {
  const args = ['-s', '5', '-m', String(n), '-l', '1000'];
  if (reused) args.push('-d');
  args.push(`127.0.0.1:${ctx.sink.port}`);
  const r = await runTimed(ctx.tools.source, args, { env: ctx.tools.env, timeoutMs: 300000 });
  const rec = { kind: 'ceiling', variant: reused ? 'reused' : 'newConn', scenario, n, exitCode: r.code, time: r.time, wallMs: Math.round(r.wallMs * 10) / 10 };
  if (r.code !== 0) rec.error = r.stderr.trim().slice(0, 300) || `exit ${r.code}`;
  else {
    rec.msgsPerSec = Math.round((n / r.wallMs) * 1000 * 10) / 10;
    if (r.time) rec.cpuMsPerMsg = Math.round((((r.time.userS + r.time.sysS) * 1000) / n) * 10000) / 10000;
  }
  return rec;
}

/** Medians per scenario and library, ratios A/B, ceiling medians. */
export function summarize(runs, scenarios, libs) {
  const summary = {};
  for (const s of scenarios) {
    const mine = runs.filter((r) => r.scenario === s);
    const entry = { title: SCENARIOS[s], n: mine[0] ? mine[0].n : null, libs: {} };
    for (const lib of libs) {
      const rs = mine.filter((r) => r.kind === 'lib' && r.lib === lib);
      // A run that delivered nothing has no throughput worth a median; its error is the reason.
      const ok = rs.filter((r) => r.exitCode === 0 && r.client && typeof r.client.msgsPerSec === 'number' && r.client.sent > 0);
      if (!ok.length) {
        const why = rs.find((r) => r.skipped || r.error);
        const allFailed = rs.find((r) => r.client && r.client.firstError);
        const reason = why ? why.skipped || why.error : allFailed ? `every send failed: ${allFailed.client.firstError.code} ${allFailed.client.firstError.message}` : 'not run';
        entry.libs[lib] = { status: why && why.skipped ? 'skipped' : 'failed', reason, runs: rs.length };
        continue;
      }
      const num = (f) => median(ok.map(f));
      const peakRssKB = num((r) => (r.time ? r.time.maxRssKB : r.client.maxRssKB));
      entry.libs[lib] = {
        status: 'ok',
        runs: ok.length,
        msgsPerSec: num((r) => r.client.msgsPerSec),
        msgsPerSecRuns: ok.map((r) => r.client.msgsPerSec),
        // Whole process (start-up included), as the baselines in the reference were measured.
        cpuMsPerMsg: num((r) => (r.time ? ((r.time.userS + r.time.sysS) * 1000) / r.n : null)),
        // First send to last settlement only.
        cpuMsPerMsgWindow: num((r) => r.client.cpuMsPerMsg),
        peakRssMB: peakRssKB === null ? null : Math.round(peakRssKB / 102.4) / 10,
        rssGrowthMB: num((r) => Math.max(r.client.rssGrowthKB || 0, (r.time ? r.time.maxRssKB : r.client.maxRssKB) - r.client.rssIdleKB) / 1024),
        failed: ok.reduce((t, r) => t + (r.client.failed || 0), 0),
        firstError: (ok.find((r) => r.client.firstError) || {}).client?.firstError || null,
      };
      if (s === 5) {
        entry.libs[lib].tokenRequests = num((r) => r.server?.tokenRequests);
        entry.libs[lib].tokenRequestsRuns = ok.map((r) => r.server?.tokenRequests ?? null);
        entry.libs[lib].serverAccepted = num((r) => r.server?.accepted);
        entry.libs[lib].serverConnections = num((r) => r.server?.connections);
      }
    }
    const ceil = mine.filter((r) => r.kind === 'ceiling' && !r.error);
    if (ceil.length) {
      const c = (variant) => {
        const rs = ceil.filter((r) => r.variant === variant);
        return { runs: rs.length, msgsPerSec: median(rs.map((r) => r.msgsPerSec)), cpuMsPerMsg: median(rs.map((r) => r.cpuMsPerMsg)) };
      };
      entry.ceiling = { command: `smtp-source -s 5 -m ${entry.n} -l 1000 [-d]`, reused: c('reused'), newConn: c('newConn') };
    }
    const a = entry.libs[A];
    const b = entry.libs[B];
    const okA = a && a.status === 'ok';
    const okB = b && b.status === 'ok';
    entry.ratios = {
      throughputAB: okA && okB ? ratio(a.msgsPerSec, b.msgsPerSec) : null,
      cpuPerMsgAB: okA && okB ? ratio(a.cpuMsPerMsg, b.cpuMsPerMsg) : null,
      peakRssAB: okA && okB ? ratio(a.peakRssMB, b.peakRssMB) : null,
      aVsCeilingReused: okA && entry.ceiling ? ratio(a.msgsPerSec, entry.ceiling.reused.msgsPerSec) : null,
      bVsCeilingReused: okB && entry.ceiling ? ratio(b.msgsPerSec, entry.ceiling.reused.msgsPerSec) : null,
    };
    summary[s] = entry;
  }
  return summary;
}

async function main() {
  let o;
  try {
    o = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  if (o.help) {
    process.stdout.write('node bench/run.mjs [--scenarios 1,2,...] [--runs N] [--quick] [--libs mailer-rs,nodemailer] [--no-ceiling] [--out PATH]\n');
    for (const [k, v] of Object.entries(SCENARIOS)) process.stdout.write(`  ${k}: ${v}\n`);
    return;
  }
  killOnExit();
  const sizes = o.quick ? SIZES.quick : SIZES.full;
  const machine = machineInfo();
  process.stdout.write(`mailer-rs bench: scenarios ${o.scenarios.join(',')}, ${o.runs} run(s) each${o.quick ? ' (quick)' : ''}, ${machine.cpus} CPU, node ${machine.node}, commit ${machine.gitCommit ? machine.gitCommit.slice(0, 10) : '?'}${machine.gitDirty ? ' (dirty)' : ''}\n`);

  const libs = o.libs;
  const unavailable = {};
  for (const lib of libs) {
    const why = probeLib(lib);
    if (why) {
      unavailable[lib] = why;
      process.stdout.write(`SKIP ${lib}: cannot be loaded (${why}); its runs are skipped.\n`);
    }
  }

  const ctx = {};
  const needSink = o.scenarios.some((s) => [1, 2, 3, 4, 6].includes(s));
  ctx.tools = postfixTools();
  if (needSink) ctx.sink = await startSmtpSink(ctx.tools);
  if (o.scenarios.includes(5)) ctx.oauth = await startOauthServer();
  if (o.scenarios.includes(6)) ctx.attachment = ensureAttachment(sizes[6]);

  const runs = [];
  const skippedFor = {}; // `${lib}:${scenario}` -> reason, after the client said it cannot run it
  try {
    for (const s of o.scenarios) {
      const n = s === 6 ? 1 : sizes[s];
      process.stdout.write(`scenario ${s} (${SCENARIOS[s]}), N=${n}${s === 6 ? `, ${sizes[6]} MB file` : ''}\n`);
      for (let round = 1; round <= o.runs; round++) {
        for (const lib of libs) {
          if (unavailable[lib]) {
            if (round === 1) runs.push({ kind: 'lib', lib, scenario: s, n, round, skipped: `cannot load: ${unavailable[lib]}`, exitCode: 3 });
            continue;
          }
          if (skippedFor[`${lib}:${s}`]) continue;
          const rec = await runClient(lib, s, n, ctx);
          rec.round = round;
          runs.push(rec);
          const c = rec.client || {};
          if (rec.skipped) {
            skippedFor[`${lib}:${s}`] = rec.skipped;
            process.stdout.write(`  SKIP ${lib}: ${rec.skipped}\n`);
          } else if (rec.error) process.stdout.write(`  run ${round} ${lib}: ERROR ${rec.error}\n`);
          else {
            const extra = s === 5 ? ` tokens=${rec.server?.tokenRequests} connections=${rec.server?.connections} accepted=${rec.server?.accepted}` : s === 6 ? ` rssGrowth=${Math.round(c.rssGrowthKB / 1024)}MB` : '';
            process.stdout.write(`  run ${round} ${lib}: ${c.msgsPerSec} msg/s, ${c.sent} sent, ${c.failed} failed${extra}${c.firstError ? ` (first error: ${c.firstError.code} ${c.firstError.message})` : ''}\n`);
          }
        }
        if (o.ceiling && ctx.sink && CEILING_SCENARIOS.has(s)) {
          for (const reused of [true, false]) {
            const rec = await runCeiling(s, n, reused, ctx);
            rec.round = round;
            runs.push(rec);
            process.stdout.write(`  run ${round} smtp-source${reused ? ' -d' : ''}: ${rec.error ? `ERROR ${rec.error}` : `${rec.msgsPerSec} msg/s`}\n`);
          }
        }
      }
    }
  } finally {
    if (ctx.sink) await ctx.sink.stop();
    if (ctx.oauth) await ctx.oauth.stop();
  }

  const summary = summarize(runs, o.scenarios, libs);
  const goals = evaluateGoals(summary);
  const result = {
    machine,
    config: { scenarios: o.scenarios, runs: o.runs, quick: o.quick, libs, sizes, A, B },
    summary,
    goals,
    runs,
  };
  process.stdout.write('\n' + formatTable(summary, goals) + '\n');
  mkdirSync(path.dirname(o.out), { recursive: true });
  writeFileSync(`${o.out}.json`, JSON.stringify(result, null, 2) + '\n');
  const subtitle = `${machine.date.slice(0, 16)} · ${machine.cpus} CPU ${machine.cpuModel || ''} · node ${machine.node} · commit ${machine.gitCommit ? machine.gitCommit.slice(0, 10) : '?'}${machine.gitDirty ? ' (dirty)' : ''} · ${o.runs} run(s), medians${o.quick ? ' · QUICK' : ''}`;
  writeFileSync(`${o.out}.svg`, renderSvg(summary, { title: 'mailer-rs vs nodemailer 10.6.1 (loopback SMTP)', subtitle }));
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), o.out)}.json and .svg\n`);
}

// Only when run as a script (the unit tests import the helpers).
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err) => {
    process.stderr.write(`bench failed: ${err.stack || err}\n`);
    process.exit(1);
  });
}
