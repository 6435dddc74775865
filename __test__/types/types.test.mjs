// `npm run test:types`: compiles the nodemailer-style TypeScript programs in this folder against
// index.d.ts with `tsc --noEmit` (strict) under three module set-ups users have, and checks that a
// known-bad program is rejected with exactly the expected errors (so the check itself can fail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// Under node10 resolution TypeScript has no self-reference through `exports`: the programs find
// mailer-rs in a node_modules folder, as an installed package (with its `typesVersions` for the
// deep `mailer-rs/lib/*` imports).
const link = path.join(here, 'node_modules', 'mailer-rs');
if (!fs.existsSync(link)) {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(path.join(here, '..', '..'), link, 'dir');
}

function compile(config) {
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(here, config), '--pretty', 'false'], { cwd: here, encoding: 'utf8' });
  return { status: r.status, output: (r.stdout + r.stderr).trim() };
}

for (const [config, what] of [
  ['tsconfig.bundler.json', 'bundler resolution (ESM source, Vite/esbuild/tsx users)'],
  ['tsconfig.nodenext.json', 'module nodenext: .mts import and .cts require through the exports map'],
  ['tsconfig.commonjs.json', 'module commonjs, node10 resolution (older TypeScript projects)'],
]) {
  test(`types compile: ${what}`, () => {
    const { status, output } = compile(config);
    assert.equal(output, '', `tsc -p ${config} reported errors`);
    assert.equal(status, 0);
  });
}

test('types reject a wrong program with the expected errors', () => {
  const { status, output } = compile('tsconfig.broken.json');
  assert.equal(status, 2, output);
  const errors = output
    .split('\n')
    .map((l) => /^(\S+)\((\d+),(\d+)\): error (TS\d+)/.exec(l))
    .filter(Boolean)
    .map((m) => `${m[1]}:${m[2]}:${m[3]} ${m[4]}`);
  assert.deepEqual(errors, ['fixtures/broken.ts:5:65 TS2769', 'fixtures/broken.ts:6:45 TS2769']);
  assert.match(output, /Type 'false' is not assignable to type 'string \| number \| undefined'/);
  assert.match(output, /Type 'number' is not assignable to type 'string'/);
});
