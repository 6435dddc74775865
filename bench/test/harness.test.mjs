// Unit tests of the harness's pure parts: `node --test bench/test/` (no servers, no network).
import test from 'node:test';
import assert from 'node:assert/strict';
import { median, ratio, parseTime, lastJson } from '../lib/common.mjs';
import { escapeXml, fmt, logDomain, renderSvg } from '../lib/chart.mjs';
import { evaluateGoals, formatTable } from '../lib/report.mjs';
import { parseCli, summarize } from '../run.mjs';
import { account } from '../soak.mjs';

test('median of odd, even, empty and non-numeric input', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
  assert.equal(median([null, 5, NaN, undefined]), 5);
});

test('ratio rounds to 3 decimals and refuses missing or zero denominators', () => {
  assert.equal(ratio(2, 3), 0.667);
  assert.equal(ratio(1, 0), null);
  assert.equal(ratio(null, 2), null);
});

test('parseTime reads the last /usr/bin/time line and skips warnings', () => {
  assert.deepEqual(parseTime('Command exited with non-zero status 3\n1.25 0.80 0.10 65536\n'), { wallS: 1.25, userS: 0.8, sysS: 0.1, maxRssKB: 65536 });
  assert.equal(parseTime('garbage'), null);
});

test('lastJson returns the last JSON line of mixed output', () => {
  assert.deepEqual(lastJson('warning: x\n{"a":1}\n{"b":2}\nnot json\n'), { b: 2 });
  assert.equal(lastJson('nothing'), null);
});

test('parseCli defaults, quick and errors', () => {
  const d = parseCli([]);
  assert.deepEqual(d.scenarios, [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(d.runs, 5);
  assert.match(d.out, /results\/latest$/);
  const q = parseCli(['--scenarios', '1,2', '--quick']);
  assert.deepEqual(q.scenarios, [1, 2]);
  assert.equal(q.runs, 1);
  assert.match(q.out, /results\/quick-latest$/);
  assert.equal(parseCli(['--runs', '3', '--quick']).runs, 3);
  assert.throws(() => parseCli(['--scenarios', '9']), /unknown scenario 9/);
  assert.throws(() => parseCli(['--runs']), /needs a value/);
  assert.throws(() => parseCli(['--bogus']), /unknown argument/);
});

function libRun(lib, scenario, msgsPerSec, extra = {}) {
  return {
    kind: 'lib',
    lib,
    scenario,
    n: 1000,
    exitCode: 0,
    time: { wallS: 1, userS: 0.5, sysS: 0.5, maxRssKB: lib === 'mailer-rs' ? 40960 : 102400 },
    client: { msgsPerSec, sent: 1000, failed: 0, cpuMsPerMsg: 0.5, rssIdleKB: 50000, rssGrowthKB: 1000, maxRssKB: 60000 },
    ...extra,
  };
}

test('summarize: medians, ratios, ceiling, skipped library', () => {
  const runs = [
    libRun('mailer-rs', 2, 9000),
    libRun('nodemailer', 2, 1000),
    libRun('mailer-rs', 2, 10000),
    libRun('nodemailer', 2, 1200),
    libRun('mailer-rs', 2, 11000),
    libRun('nodemailer', 2, 1100),
    { kind: 'ceiling', variant: 'reused', scenario: 2, n: 1000, exitCode: 0, msgsPerSec: 16000, cpuMsPerMsg: 0.03 },
    { kind: 'ceiling', variant: 'newConn', scenario: 2, n: 1000, exitCode: 0, msgsPerSec: 5000, cpuMsPerMsg: 0.1 },
    { kind: 'lib', lib: 'mailer-rs', scenario: 7, n: 10, exitCode: 3, skipped: 'streamTransport not supported' },
    libRun('nodemailer', 7, 2000),
  ];
  const s = summarize(runs, [2, 7], ['mailer-rs', 'nodemailer']);
  assert.equal(s[2].libs['mailer-rs'].msgsPerSec, 10000);
  assert.equal(s[2].libs.nodemailer.msgsPerSec, 1100);
  assert.equal(s[2].libs['mailer-rs'].cpuMsPerMsg, 1); // (0.5 + 0.5) s * 1000 / 1000 msgs
  assert.equal(s[2].libs['mailer-rs'].peakRssMB, 40);
  assert.equal(s[2].ratios.throughputAB, 9.091);
  assert.equal(s[2].ratios.peakRssAB, 0.4);
  assert.equal(s[2].ratios.aVsCeilingReused, 0.625);
  assert.equal(s[2].ceiling.newConn.msgsPerSec, 5000);
  assert.equal(s[7].libs['mailer-rs'].status, 'skipped');
  assert.equal(s[7].libs['mailer-rs'].reason, 'streamTransport not supported');
  assert.equal(s[7].ratios.throughputAB, null);

  const goals = evaluateGoals(s);
  const byId = Object.fromEntries(goals.map((g) => [g.id, g]));
  assert.equal(byId['pool-speedup'].pass, true);
  assert.equal(byId['pool-ceiling'].pass, true);
  assert.equal(byId['pool-rss'].pass, true);
  assert.equal(byId['pool-cpu'].pass, false); // same CPU per message: ratio 1
  assert.equal(byId['seq-speedup'].pass, null); // scenario 1 not run: never reported as met
  assert.equal(byId['pool3-speedup'].pass, null); // nor scenario 3
  assert.equal(byId['oauth-tokens'].pass, null);

  const table = formatTable(s, goals);
  assert.match(table, /throughput A\/B 9\.09x/);
  assert.match(table, /skipped: streamTransport not supported/);
  assert.match(table, /FAIL {2}\(2\) CPU ms\/msg mailer-rs \/ nodemailer: 1 \(goal <= 0\.1\)/);

  const svg = renderSvg(s, { title: 'a < b', subtitle: 'x & y' });
  assert.match(svg, /^<svg /);
  assert.match(svg, /a &lt; b/);
  assert.match(svg, /mailer-rs: skipped: streamTransport not supported/);
  assert.equal((svg.match(/<rect /g) || []).length > 6, true);
});

test('a run with zero messages sent is a failure, not a throughput figure', () => {
  const r = libRun('mailer-rs', 1, 50000);
  r.client.sent = 0;
  r.client.failed = 1000;
  r.client.firstError = { code: 'ESOCKET', message: 'connect ECONNREFUSED' };
  const s = summarize([r], [1], ['mailer-rs']);
  assert.equal(s[1].libs['mailer-rs'].status, 'failed');
  assert.equal(s[1].libs['mailer-rs'].reason, 'every send failed: ESOCKET connect ECONNREFUSED');
});

test('token goal needs every run at exactly one request', () => {
  const mk = (tokens) => summarize(tokens.map((t) => libRun('mailer-rs', 5, 1000, { server: { tokenRequests: t, accepted: 1000, connections: 5 } })), [5], ['mailer-rs']);
  const goal = (s) => evaluateGoals(s).find((g) => g.id === 'oauth-tokens');
  assert.equal(goal(mk([1, 1, 1])).pass, true);
  assert.equal(goal(mk([1, 2, 1])).pass, false);
  assert.equal(goal(mk([1, 2, 1])).value, 2);
});

test('chart helpers', () => {
  assert.equal(escapeXml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  assert.equal(fmt(1234.5), '1235');
  assert.equal(fmt(12.345), '12.3');
  assert.equal(fmt(1.2345), '1.23');
  assert.equal(fmt(0.012345), '0.012');
  assert.equal(fmt(3), '3');
  assert.equal(fmt(null), 'n/a');
  assert.deepEqual(logDomain([0.05, 20000]), [-2, 5]);
  assert.deepEqual(logDomain([100]), [2, 3]);
  assert.deepEqual(logDomain([]), [0, 1]);
});

test('soak accounting: lost, duplicates, drops after the dot, unaccounted', () => {
  const r = account({
    n: 6,
    resolved: new Set([0, 1, 2, 5]),
    rejected: new Set([3]),
    accepted: [
      [0, 1],
      [1, 2], // acknowledged twice with no drop: a real duplicate
      [3, 1], // acknowledged, yet the client rejected it
      [5, 1], // delivered again after a drop after the final dot
    ],
    droppedAfterDot: [
      [5, 1],
      [4, 1],
    ],
  });
  assert.deepEqual(r, {
    n: 6,
    resolved: 4,
    rejected: 1,
    unaccounted: 1, // id 4 never settled
    serverAcceptedUnique: 4,
    serverAcceptedTotal: 5,
    droppedAfterDot: 2,
    deliveredAgainAfterDrop: 1,
    duplicates: 1,
    lost: 1, // id 2 resolved but never acknowledged
    acceptedButRejected: 1,
    ok: false,
  });
  const clean = account({ n: 2, resolved: new Set([0]), rejected: new Set([1]), accepted: [[0, 1]], droppedAfterDot: [[1, 1]] });
  assert.equal(clean.ok, true);
});
