// Module shape and packaging: how users load mailer-rs (require, import, the `exports` map, from
// another package), what `npm pack` ships, and which of nodemailer's top-level exports exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

// nodemailer 10.6.1's top-level exports that mailer-rs does not provide (documented in docs/migration.md): none.
const NOT_PROVIDED = [];

test('require("mailer-rs") resolves through the exports map to the CJS entry', () => {
  assert.equal(require.resolve('mailer-rs'), path.join(root, 'index.js'));
  const m = require('mailer-rs');
  assert.equal(typeof m.createTransport, 'function');
  assert.equal(m.default, m, 'module.exports.default is the module itself (TS/Babel default-import interop)');
  assert.equal(require('mailer-rs/package.json').name, 'mailer-rs');
});

test('import("mailer-rs"): default and named exports, the same objects as require', async () => {
  assert.equal(import.meta.resolve('mailer-rs'), pathToFileURL(path.join(root, 'index.mjs')).href);
  const ns = await import('mailer-rs');
  assert.deepEqual(Object.keys(ns).sort(), ['createTestAccount', 'createTransport', 'default', 'getTestMessageUrl']);
  assert.equal(ns.createTestAccount, require('mailer-rs').createTestAccount);
  assert.equal(ns.getTestMessageUrl, require('mailer-rs').getTestMessageUrl);
  assert.equal(ns.default, require('mailer-rs'));
  assert.equal(ns.createTransport, require('mailer-rs').createTransport);
  const t = ns.default.createTransport({ host: 'localhost', port: 2525 });
  assert.equal(t.transporter.name, 'SMTP');
  assert.equal(typeof t.sendMail, 'function');
});

test('internal files are not reachable through the exports map', () => {
  // `mailer-rs/lib/*` maps to nodemailer's deep modules (lib/nodemailer/), never to the internal lib/ files.
  for (const internal of ['mailer-rs/lib/mailer.js', 'mailer-rs/lib/options', 'mailer-rs/lib/deep-imports']) {
    assert.throws(() => require(internal), { code: 'MODULE_NOT_FOUND' }, internal);
  }
  assert.throws(() => require('mailer-rs/binding.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});

test('another package loads mailer-rs from node_modules with require and import', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-consumer-'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'mailer-rs'), 'dir');
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    fs.writeFileSync(
      path.join(dir, 'cjs.cjs'),
      "const nodemailer = require('mailer-rs');\n" +
        "const { createTransport } = require('mailer-rs');\n" +
        "console.log(JSON.stringify({ cjs: typeof nodemailer.createTransport, named: createTransport === nodemailer.createTransport }));\n"
    );
    fs.writeFileSync(
      path.join(dir, 'esm.mjs'),
      "import nodemailer from 'mailer-rs';\n" +
        "import { createTransport } from 'mailer-rs';\n" +
        "const t = createTransport({ host: 'localhost' });\n" +
        "console.log(JSON.stringify({ esm: typeof nodemailer.createTransport, named: createTransport === nodemailer.createTransport, idle: t.isIdle() }));\n"
    );
    const run = (file) => {
      const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').pop());
    };
    assert.deepEqual(run('cjs.cjs'), { cjs: 'function', named: true });
    assert.deepEqual(run('esm.mjs'), { esm: 'function', named: true, idle: false });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('package.json: engines, entry points, types', () => {
  assert.equal(pkg.engines.node, '>=20');
  assert.equal(Number(process.versions.node.split('.')[0]) >= 20, true);
  assert.equal(pkg.main, 'index.js');
  assert.equal(pkg.types, 'index.d.ts');
  assert.deepEqual(pkg.exports['.'], { types: './index.d.ts', import: './index.mjs', require: './index.js' });
  // No install script: the binary comes from the platform package. The clone's build is `prepare`,
  // which prepublishOnly removes from what is published (docs/packaging.md).
  for (const s of ['preinstall', 'install', 'postinstall']) assert.equal(pkg.scripts[s], undefined, `scripts.${s}`);
  assert.match(pkg.scripts.prepare, /scripts\/build\.js/);
  assert.match(pkg.scripts.prepublishOnly, /npm pkg delete scripts\.prepare/);
  assert.ok(!pkg.files.some((f) => f.startsWith('scripts')), 'scripts/ is not published');
});

test('npm pack ships only what users need', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = JSON.parse(r.stdout)[0].files.map((f) => f.path).sort();
  const allowed = [/^README\.md$/, /^LICENSE/, /^package\.json$/, /^index\.(js|mjs|d\.ts)$/, /^binding\.js$/, /^lib\/[\w-]+\.js$/, /^lib\/nodemailer\/[\w-]+\.(js|d\.ts)$/];
  const unexpected = files.filter((f) => !allowed.some((re) => re.test(f)));
  assert.deepEqual(unexpected, [], 'files outside the allow-list would be published');
  for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'binding.js', 'lib/mailer.js', 'package.json']) {
    assert.ok(files.includes(f), `${f} is missing from the package`);
  }
  for (const dir of ['crates/', 'src/', 'target/', '__test__/', 'bench/', 'examples/', 'npm/', 'docs/', 'scripts/']) {
    assert.deepEqual(files.filter((f) => f.startsWith(dir)), [], `${dir} must not be published`);
  }
  // The native binary ships in the per-platform package (npm/linux-x64-gnu), not in the root one.
  assert.deepEqual(files.filter((f) => f.endsWith('.node')), []);
});

test('top-level exports: nodemailer\'s, minus the documented ones; index.d.ts declares the same', () => {
  const ours = require('mailer-rs');
  const theirs = Object.keys(require('nodemailer'));
  assert.deepEqual(theirs.sort(), ['createTestAccount', 'createTransport', 'getTestMessageUrl']);
  const missing = theirs.filter((k) => !(k in ours));
  assert.deepEqual(missing, NOT_PROVIDED.filter((k) => !(k in ours)));
  for (const k of theirs.filter((name) => name in ours)) assert.equal(typeof ours[k], 'function', k);
  const extra = Object.keys(ours).filter((k) => k !== 'default' && !theirs.includes(k));
  assert.deepEqual(extra, [], 'exports nodemailer does not have');
  const migration = fs.readFileSync(path.join(root, 'docs', 'migration.md'), 'utf8');
  for (const k of missing) assert.ok(migration.includes(`\`${k}\``), `docs/migration.md names ${k}`);

  const dts = fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8');
  const declared = [...new Set([...dts.matchAll(/^export declare function (\w+)/gm)].map((m) => m[1]))].sort();
  const runtime = Object.keys(ours).filter((k) => k !== 'default').sort();
  assert.deepEqual(declared, runtime, 'index.d.ts declares exactly the runtime functions');
});

test('the per-platform packages are what the loader looks for', () => {
  const expected = {
    'linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
    'linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
    'linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
    'linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
    'darwin-x64': { os: ['darwin'], cpu: ['x64'], libc: undefined },
    'darwin-arm64': { os: ['darwin'], cpu: ['arm64'], libc: undefined },
    'win32-x64-msvc': { os: ['win32'], cpu: ['x64'], libc: undefined },
    'win32-arm64-msvc': { os: ['win32'], cpu: ['arm64'], libc: undefined },
  };
  assert.equal(pkg.napi.targets.length, Object.keys(expected).length);
  assert.deepEqual(fs.readdirSync(path.join(root, 'npm')).sort(), Object.keys(expected).sort());
  const loader = fs.readFileSync(path.join(root, 'binding.js'), 'utf8');
  for (const [name, want] of Object.entries(expected)) {
    const platform = JSON.parse(fs.readFileSync(path.join(root, 'npm', name, 'package.json'), 'utf8'));
    assert.equal(platform.name, `${pkg.napi.packageName}-${name}`);
    assert.equal(platform.version, pkg.version);
    const file = `mailer-rs.${name}.node`;
    assert.deepEqual(
      { os: platform.os, cpu: platform.cpu, libc: platform.libc, main: platform.main, files: platform.files },
      { ...want, main: file, files: [file, 'THIRD-PARTY.md'] },
      name
    );
    assert.ok(loader.includes(`require('${platform.name}')`), `binding.js falls back to ${platform.name}`);
    assert.ok(loader.includes(`require('./${file}')`), `binding.js tries a local ${file} first`);
  }
});

test('getTestMessageUrl reads the Ethereal tail of info.response as nodemailer does', () => {
  const ours = require('mailer-rs');
  const theirs = require('nodemailer');
  const cases = [
    { response: '250 Accepted [STATUS=new MSGID=Xyz.abc-123]' },
    { response: '250 Accepted [MSGID=abc STATUS=new]' },
    { response: '250 Accepted [STATUS=new]' },
    { response: '250 Accepted' },
    { response: '250 [x] Accepted [STATUS=new MSGID=a]b' },
    {},
    null,
  ];
  for (const info of cases) assert.equal(ours.getTestMessageUrl(info), theirs.getTestMessageUrl(info), JSON.stringify(info));
});

test('options mailer-rs cannot honour are refused, never silently ignored', () => {
  const { createTransport } = require('mailer-rs');
  assert.throws(() => createTransport({ host: 'localhost' }).use('stream', () => {}), { code: 'ECONFIG' });
});

test('compile plugins run on the message data before composition', async () => {
  const { createTransport } = require('mailer-rs');
  const t = createTransport({ streamTransport: true, buffer: true });
  const seen = [];
  t.use('compile', (mail, done) => {
    seen.push(mail.data.subject);
    mail.data.subject = 'changed by plugin';
    done();
  });
  const info = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'original', text: 'x' });
  assert.deepEqual(seen, ['original']);
  assert.match(info.message.toString(), /^Subject: changed by plugin\r$/m);
  t.use('compile', (mail, done) => done(new Error('plugin says no')));
  await assert.rejects(t.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' }), /plugin says no/);
});
