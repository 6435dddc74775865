// The stdout table and the goal checks of bench/README.md, computed from run.mjs's summary.
import { fmt } from './chart.mjs';

const A = 'mailer-rs';
const B = 'nodemailer';

function lib(summary, s, name) {
  const e = summary[s] && summary[s].libs[name];
  return e && e.status === 'ok' ? e : null;
}

/**
 * Each goal: { id, text, value, target, pass } with pass = true/false, or null when the scenario or
 * a library did not run (a goal is never reported as met on missing data).
 */
export function evaluateGoals(summary) {
  const goals = [];
  const add = (id, text, value, target, test) =>
    goals.push({ id, text, value: value ?? null, target, pass: value === null || value === undefined ? null : test(value) });
  const r = (s, k) => (summary[s] ? summary[s].ratios[k] : null);
  add('pool-speedup', '(2) pooled throughput mailer-rs / nodemailer', r(2, 'throughputAB'), '>= 8', (v) => v >= 8);
  add('pool-ceiling', '(2) pooled mailer-rs / smtp-source -d ceiling', r(2, 'aVsCeilingReused'), '>= 0.6', (v) => v >= 0.6);
  // Issue 6 asks the same of (3); note that 8x nodemailer there (5,100 msg/s) is above
  // smtp-source's own ceiling on this machine (about 33,000), so it cannot pass here.
  add('pool3-speedup', '(3) pooled, maxMessages Infinity, mailer-rs / nodemailer', r(3, 'throughputAB'), '>= 8', (v) => v >= 8);
  add('pool3-ceiling', '(3) pooled, maxMessages Infinity, mailer-rs / smtp-source -d ceiling', r(3, 'aVsCeilingReused'), '>= 0.6', (v) => v >= 0.6);
  add('seq-speedup', '(1) sequential throughput mailer-rs / nodemailer', r(1, 'throughputAB'), '>= 4', (v) => v >= 4);
  add('pool-cpu', '(2) CPU ms/msg mailer-rs / nodemailer', r(2, 'cpuPerMsgAB'), '<= 0.1', (v) => v <= 0.1);
  add('pool-rss', '(2) peak RSS mailer-rs / nodemailer', r(2, 'peakRssAB'), '<= 0.5', (v) => v <= 0.5);
  const t = lib(summary, 5, A);
  // Every run, not only the median, must have made exactly one token request.
  const tokenRuns = t ? t.tokenRequestsRuns : null;
  add('oauth-tokens', '(5) token requests per run, mailer-rs (all runs)', tokenRuns && tokenRuns.length ? Math.max(...tokenRuns.map((x) => x ?? Infinity)) : null, '== 1', () =>
    tokenRuns.every((x) => x === 1)
  );
  const g = lib(summary, 6, A);
  add('large-rss', '(6) peak RSS growth MB, mailer-rs', g ? Math.round(g.rssGrowthMB * 10) / 10 : null, '< 32', (v) => v < 32);
  for (const s of Object.keys(summary)) {
    const e = lib(summary, s, A);
    if (e) add(`no-failures-${s}`, `(${s}) failed sends, mailer-rs`, e.failed, '== 0', (v) => v === 0);
  }
  return goals;
}

function pad(s, w, right) {
  s = String(s);
  return right ? s.padStart(w) : s.padEnd(w);
}

export function formatTable(summary, goals) {
  const cols = [
    ['scenario', 46],
    ['library', 22],
    ['N', 6, true],
    ['runs', 4, true],
    ['msgs/s', 9, true],
    ['cpu ms/msg', 10, true],
    ['win ms/msg', 10, true],
    ['peak RSS MB', 11, true],
    ['notes', 0],
  ];
  const line = (vals) => cols.map(([, w, right], i) => (w ? pad(vals[i] ?? '', w, right) : vals[i] ?? '')).join('  ').trimEnd();
  const out = [line(cols.map((c) => c[0])), line(cols.map(([h, w]) => '-'.repeat(w || h.length)))];
  for (const s of Object.keys(summary).sort((a, b) => a - b)) {
    const e = summary[s];
    const label = `(${s}) ${e.title}`;
    let first = true;
    for (const name of [A, B]) {
      const l = e.libs[name];
      if (!l) continue;
      const col0 = first ? label : '';
      first = false;
      if (l.status !== 'ok') {
        out.push(line([col0, name, e.n, l.runs || 0, '-', '-', '-', '-', `${l.status}: ${String(l.reason || '').slice(0, 90)}`]));
        continue;
      }
      const notes = [];
      if (l.failed) notes.push(`${l.failed} failed (${l.firstError ? `${l.firstError.code} ${l.firstError.message}` : '?'})`);
      if (s === '5') notes.push(`token requests ${l.tokenRequestsRuns.join(',')}; server connections ${fmt(l.serverConnections)}`);
      if (s === '6') notes.push(`RSS growth ${fmt(l.rssGrowthMB)} MB`);
      out.push(line([col0, name, e.n, l.runs, fmt(l.msgsPerSec), fmt(l.cpuMsPerMsg), fmt(l.cpuMsPerMsgWindow), fmt(l.peakRssMB), notes.join('; ')]));
    }
    if (e.ceiling) {
      out.push(line(['', 'smtp-source -d (reused)', e.n, e.ceiling.reused.runs, fmt(e.ceiling.reused.msgsPerSec), fmt(e.ceiling.reused.cpuMsPerMsg), '', '', 'ceiling, 5 sessions, 1 KB']));
      out.push(line(['', 'smtp-source (new conn)', e.n, e.ceiling.newConn.runs, fmt(e.ceiling.newConn.msgsPerSec), fmt(e.ceiling.newConn.cpuMsPerMsg), '', '', '']));
    }
    const r = e.ratios;
    const parts = [];
    if (r.throughputAB !== null) parts.push(`throughput A/B ${fmt(r.throughputAB)}x`);
    if (r.cpuPerMsgAB !== null) parts.push(`cpu/msg A/B ${fmt(r.cpuPerMsgAB)}`);
    if (r.peakRssAB !== null) parts.push(`peak RSS A/B ${fmt(r.peakRssAB)}`);
    if (r.aVsCeilingReused !== null) parts.push(`A/ceiling ${fmt(r.aVsCeilingReused)}`);
    if (r.bVsCeilingReused !== null) parts.push(`B/ceiling ${fmt(r.bVsCeilingReused)}`);
    if (parts.length) out.push(line(['', 'ratios', '', '', '', '', '', '', parts.join(', ')]));
  }
  out.push('');
  out.push('goals (A = mailer-rs, B = nodemailer):');
  for (const g of goals) {
    const mark = g.pass === null ? 'n/a ' : g.pass ? 'PASS' : 'FAIL';
    out.push(`  ${mark}  ${g.text}: ${g.value === null ? 'not measured' : fmt(g.value)} (goal ${g.target})`);
  }
  return out.join('\n');
}
