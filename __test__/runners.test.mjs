// mailer-rs under the test runners applications use: the suites in __test__/runners/ (sends to a
// local smtp-server, pooled and not, composition transports, errors) run under vitest 4 with
// its worker-thread and child-process pools (and vmThreads, where each file has a realm of its
// own) and under jest 30 (child-process workers, and --detectOpenHandles).
//
// What they catch: a crash of the addon when a worker thread that loaded it exits (vitest
// threads), values made by the addon in another realm than the test's (jest, vitest
// vmThreads: `toBeInstanceOf(Array)` / `(Error)` fail), threadsafe functions or async
// resources left open after close() (jest --detectOpenHandles).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SUITES = fileURLToPath(new URL('./runners/', import.meta.url));
const TIMEOUT = 180_000;
// The runners' own command-line scripts, run with this node (as `npx vitest` / `npx jest` would,
// without a shell: `npx` is `npx.cmd` on Windows)
const require = createRequire(import.meta.url);
function binOf(name) {
  const manifest = require.resolve(`${name}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8'));
  return join(dirname(manifest), typeof bin === 'string' ? bin : bin[name]);
}
const BIN = { vitest: binOf('vitest'), jest: binOf('jest') };

// The number of tests in the suites, read from them: each run must report all of them passed.
const FILES = readdirSync(SUITES).filter((f) => f.endsWith('.test.js'));
const TESTS = FILES.reduce((n, f) => n + (readFileSync(join(SUITES, f), 'utf8').match(/^\s*test\(/gm) || []).length, 0);

/** Runs `<runner> <args>` in the suites' directory; resolves { code, signal, out } (stdout + stderr). */
function run(runner, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN[runner], ...args], {
      cwd: SUITES,
      env: { ...process.env, CI: '1', NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT - 10_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

function assertNoOpenHandles(out) {
  assert.doesNotMatch(out, /open handle/i, out);
}

test('the suites are there', () => {
  assert.ok(FILES.length >= 3, FILES.join(', '));
  assert.ok(TESTS >= 15, `${TESTS} tests`);
});

for (const pool of ['threads', 'forks', 'vmThreads']) {
  test(`vitest --pool=${pool}`, { timeout: TIMEOUT }, async () => {
    const { code, signal, out } = await run('vitest', ['run', `--pool=${pool}`]);
    assert.equal(signal, null, out);
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`Test Files\\s+${FILES.length} passed \\(${FILES.length}\\)`), out);
    assert.match(out, new RegExp(`Tests\\s+${TESTS} passed \\(${TESTS}\\)`), out);
    assert.doesNotMatch(out, /Segmentation fault|SIGSEGV|Worker exited unexpectedly|Unhandled/i, out);
    // vitest says so when something kept a worker or the process alive after the tests
    assert.doesNotMatch(out, /close timed out|prevents Vite server from exiting|hanging/i, out);
  });
}

// A cache directory of its own per run: jest runs in band when earlier timings say the files
// are fast, and these must run in its worker processes.
for (const [name, flags] of [
  ['jest (worker processes)', ['--maxWorkers=2']],
  ['jest --detectOpenHandles', ['--detectOpenHandles']],
]) {
  test(name, { timeout: TIMEOUT }, async () => {
    const cache = mkdtempSync(join(tmpdir(), 'mailer-rs-jest-'));
    try {
      const { code, signal, out } = await run('jest', ['--ci', `--cacheDirectory=${cache}`, ...flags]);
      assert.equal(signal, null, out);
      assert.equal(code, 0, out);
      assert.match(out, new RegExp(`Test Suites:\\s+${FILES.length} passed, ${FILES.length} total`), out);
      assert.match(out, new RegExp(`Tests:\\s+${TESTS} passed, ${TESTS} total`), out);
      assertNoOpenHandles(out);
      // jest says so when something kept a worker or the process alive after the tests
      assert.doesNotMatch(out, /did not exit one second after|worker process has failed to exit gracefully/i, out);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
}
