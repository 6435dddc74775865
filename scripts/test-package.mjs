#!/usr/bin/env node
// `npm run test:package`: installs mailer-rs the way a user does and uses it there.
//
// Packs the root package (`npm pack`, as `npm publish` would; its package.json gets the
// optionalDependencies that `napi prepublish` writes at release) and the linux-x64-gnu platform
// package, installs both tarballs into a new project in a temporary directory with npm --offline
// and a PATH without cargo or rustc, and checks there that:
//   - npm prints no install-script warning and the installed package.json has no install scripts;
//   - `require('mailer-rs')` and `import ... from 'mailer-rs'` work, and the addon is loaded from
//     the platform package (the root package ships no .node);
//   - a message goes over SMTP to a server on 127.0.0.1 and the server receives it;
//   - a jsonTransport send returns the message;
//   - tsc (this repository's typescript, strict, module nodenext) compiles programs against the
//     installed types.
// The platform package carries npm/linux-x64-gnu/mailer-rs.linux-x64-gnu.node when
// `npm run build:release` made it (and no newer local build exists), else the local build next to
// binding.js; it says which.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const platform = 'linux-x64-gnu';
const nodeFile = `mailer-rs.${platform}.node`;
const rootPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const platformPkg = JSON.parse(fs.readFileSync(path.join(root, 'npm', platform, 'package.json'), 'utf8'));
const started = Date.now();
let passed = 0;
let failed = 0;

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.log(`test-package: only the ${platform} platform package is built here; skipped on ${process.platform}-${process.arch}`);
  process.exit(0);
}

async function main() {
  // A clean environment for the user's side: no npm_* variables from `npm run`, no loader override,
  // and a PATH on which no Rust toolchain can be found.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !/^NAPI_RS_/.test(k) && k !== 'INIT_CWD'),
  );
  env.PATH = (process.env.PATH || '')
    .split(path.delimiter)
    .filter((d) => d && !['cargo', 'rustc', 'rustup'].some((t) => fs.existsSync(path.join(d, t))))
    .join(path.delimiter);
  for (const tool of ['cargo', 'rustc']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { env, encoding: 'utf8' });
    if (r.status === 0) throw new Error(`${tool} is still on the test PATH (${r.stdout.trim()})`);
  }

  // 1. The root tarball, as published.
  const packOut = sh('npm', ['pack', '--json', '--pack-destination', work], { cwd: root });
  const packed = packJson(packOut);
  const files = packed.files.map((f) => f.path).sort();
  check('root tarball: JS, types and loader, no binary, no Rust sources', () => {
    for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'binding.js', 'package.json', 'README.md']) {
      if (!files.includes(f)) throw new Error(`${f} missing from the tarball (files: ${files.join(' ')})`);
    }
    const lib = fs.readdirSync(path.join(root, 'lib'), { recursive: true })
      .map((f) => `lib/${f.split(path.sep).join('/')}`)
      .filter((f) => fs.statSync(path.join(root, f)).isFile());
    for (const f of lib) if (!files.includes(f)) throw new Error(`${f} missing from the tarball`);
    const extra = files.filter((f) => /\.node$|\.rs$|^Cargo\.|^scripts\/|^src\//.test(f));
    if (extra.length) throw new Error(`unexpected files in the tarball: ${extra.join(' ')}`);
  });
  // What `npm publish` packs after package.json's prepublishOnly: `napi prepublish` adds one
  // optional dependency per target at the package's version, and `npm pkg delete scripts.prepare`
  // drops the clone's build hook (npm 11 lists `prepare` of a tarball or git install as an install
  // script). Re-packed without running scripts, as npm publish would after that.
  check('prepublishOnly writes the optionalDependencies and drops prepare', () => {
    const pre = rootPkg.scripts.prepublishOnly || '';
    if (!/napi prepublish/.test(pre) || !/npm pkg delete scripts\.prepare/.test(pre)) throw new Error(`prepublishOnly is "${pre}"`);
  });
  const stage = path.join(work, 'stage');
  fs.mkdirSync(stage);
  sh('tar', ['-xzf', path.join(work, packed.filename), '-C', stage]);
  const stagedJsonPath = path.join(stage, 'package', 'package.json');
  const stagedJson = JSON.parse(fs.readFileSync(stagedJsonPath, 'utf8'));
  stagedJson.optionalDependencies = Object.fromEntries(platformsOf(rootPkg).map((p) => [`${rootPkg.napi.packageName}-${p}`, rootPkg.version]));
  delete stagedJson.scripts.prepare;
  fs.writeFileSync(stagedJsonPath, JSON.stringify(stagedJson, null, 2) + '\n');
  fs.rmSync(path.join(work, packed.filename));
  const rootTgz = path.join(work, packTarball(path.join(stage, 'package'), work));

  // 2. The platform tarball.
  // The release build unless a local build is newer (a release binary left from an older commit
  // would lack what the JS of this one calls).
  const released = path.join(root, 'npm', platform, nodeFile);
  const local = path.join(root, nodeFile);
  const mtime = (f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : -1);
  const binary = mtime(released) >= mtime(local) && mtime(released) > 0 ? released : local;
  if (!fs.existsSync(binary)) throw new Error(`no ${nodeFile}: run \`npm install\` (builds it) or \`npm run build:release\``);
  const glibc = maxGlibc(binary);
  const st = fs.statSync(binary);
  console.log(
    `test-package: platform package carries ${path.relative(root, binary)} (${binary === released ? 'release build, npm run build:release' : 'local build'}; ` +
      `${st.size} bytes, built ${st.mtime.toISOString()}, highest GLIBC_ ${glibc})`,
  );
  const platDir = path.join(work, 'platform');
  fs.mkdirSync(platDir);
  for (const f of ['package.json', 'README.md', 'THIRD-PARTY.md']) {
    const src = path.join(root, 'npm', platform, f);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(platDir, f));
  }
  fs.copyFileSync(binary, path.join(platDir, nodeFile));
  const platTgz = path.join(work, packTarball(platDir, work));

  // 3. A user's project.
  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2));
  const install = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', rootTgz, platTgz], { cwd: app, env, encoding: 'utf8' });
  const installOut = `${install.stdout}${install.stderr}`;
  check('npm install of the two tarballs (offline, no Rust on PATH)', () => {
    if (install.status !== 0) throw new Error(`npm install exited ${install.status}:\n${installOut}`);
  });
  check('the installed loader asks for every platform package of napi.targets', () => {
    const loader = fs.readFileSync(path.join(app, 'node_modules', 'mailer-rs', 'binding.js'), 'utf8');
    for (const p of platformsOf(rootPkg)) {
      if (!loader.includes(`require('${rootPkg.napi.packageName}-${p}')`)) throw new Error(`binding.js does not require ${rootPkg.napi.packageName}-${p}`);
    }
  });
  check('no install-script warning, no install scripts in the installed package', () => {
    if (/install script|allowScripts|allow-scripts/i.test(installOut)) throw new Error(`npm printed:\n${installOut}`);
    const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'mailer-rs', 'package.json'), 'utf8'));
    for (const s of ['preinstall', 'install', 'postinstall']) {
      if (installed.scripts && installed.scripts[s]) throw new Error(`installed package.json has scripts.${s}`);
    }
    const nodes = fs.readdirSync(path.join(app, 'node_modules', 'mailer-rs')).filter((f) => f.endsWith('.node'));
    if (nodes.length) throw new Error(`the root package carries ${nodes.join(' ')}`);
    if (installed.version !== rootPkg.version || platformPkg.version !== rootPkg.version) throw new Error('version mismatch');
  });

  // 4. Use it: CommonJS with an SMTP send and a jsonTransport send, then ESM.
  const server = await smtpServer();
  try {
    fs.writeFileSync(
      path.join(app, 'cjs.cjs'),
      `const assert = require('node:assert/strict');
const path = require('node:path');
const nodemailer = require('mailer-rs');
(async () => {
  const binaries = Object.keys(require.cache).filter((k) => k.endsWith('.node'));
  assert.deepEqual(binaries.map((b) => path.relative(__dirname, b)), [path.join('node_modules', '@mailer-rs', 'binding-${platform}', '${nodeFile}')]);
  const t = nodemailer.createTransport({ host: '127.0.0.1', port: Number(process.env.SMTP_PORT), ignoreTLS: true });
  const info = await t.sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'package test', text: 'installed from a tarball' });
  assert.deepEqual(info.accepted, ['b@example.com']);
  assert.match(info.response, /^250 /);
  const j = await nodemailer.createTransport({ jsonTransport: true }).sendMail({ from: 'a@example.com', to: 'c@example.com', subject: 'json', text: 'x' });
  const SMTPTransport = require('mailer-rs/lib/smtp-transport');
  assert.equal(typeof SMTPTransport, 'function');
  const msg = JSON.parse(j.message);
  assert.equal(msg.subject, 'json');
  assert.deepEqual(j.envelope, { from: 'a@example.com', to: ['c@example.com'] });
  assert.deepEqual(msg.to, [{ address: 'c@example.com', name: '' }]);
  console.log('ok', info.messageId);
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const cjs = await runAsync(process.execPath, ['cjs.cjs'], { cwd: app, env: { ...env, SMTP_PORT: String(server.port) } });
    check('require("mailer-rs"): addon from the platform package, SMTP send to 127.0.0.1, jsonTransport send, a deep require', () => {
      if (cjs.status !== 0) throw new Error(`node cjs.cjs exited ${cjs.status}:\n${cjs.output}`);
      const got = server.messages.join('\n');
      if (!/Subject: package test/.test(got) || !/installed from a tarball/.test(got)) throw new Error(`the server received:\n${got}`);
      if (!server.envelopes.some((e) => e.includes('MAIL FROM:<a@example.com>'))) throw new Error('no MAIL FROM seen');
    });
  } finally {
    server.close();
  }
  fs.writeFileSync(
    path.join(app, 'esm.mjs'),
    `import assert from 'node:assert/strict';
import nodemailer, { createTransport } from 'mailer-rs';
assert.equal(typeof createTransport, 'function');
assert.equal(nodemailer.createTransport, createTransport);
const info = await createTransport({ jsonTransport: true }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'esm' });
assert.equal(JSON.parse(info.message).text, 'esm');
`,
  );
  const esm = spawnSync(process.execPath, ['esm.mjs'], { cwd: app, env, encoding: 'utf8' });
  check('import from "mailer-rs" (ESM entry) and a send', () => {
    if (esm.status !== 0) throw new Error(`node esm.mjs exited ${esm.status}:\n${esm.stdout}${esm.stderr}`);
  });

  // 5. Types, as installed: the repository's typed programs for module nodenext (top-level and
  // deep imports, ESM and CommonJS) compiled in the project.
  const types = path.join(root, '__test__', 'types');
  const typed = JSON.parse(fs.readFileSync(path.join(types, 'tsconfig.nodenext.json'), 'utf8')).files;
  for (const f of typed) fs.copyFileSync(path.join(types, f), path.join(app, f));
  // The SES program types its client with @aws-sdk/client-sesv2, a package the user installs
  // beside mailer-rs: linked from this repository's devDependencies, not packed.
  fs.mkdirSync(path.join(app, 'node_modules', '@aws-sdk'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules', '@aws-sdk', 'client-sesv2'), path.join(app, 'node_modules', '@aws-sdk', 'client-sesv2'), 'dir');
  const base = JSON.parse(fs.readFileSync(path.join(types, 'tsconfig.base.json'), 'utf8'));
  fs.writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { ...base.compilerOptions, module: 'nodenext', moduleResolution: 'nodenext', typeRoots: [path.join(root, 'node_modules', '@types')] },
      files: typed,
    }),
  );
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const tscRun = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false', '--traceResolution'], { cwd: app, env, encoding: 'utf8', maxBuffer: 256 * 1048576 });
  check(`tsc (strict, nodenext) against the installed types: ${typed.join(' ')}`, () => {
    const errors = tscRun.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    if (tscRun.status !== 0) throw new Error(`tsc exited ${tscRun.status}:\n${errors.join('\n')}${tscRun.stderr}`);
    const resolved = [...tscRun.stdout.matchAll(/Module name 'mailer-rs(?:\/[^']*)?' was successfully resolved to '([^']+)'/g)].map((m) => m[1]);
    const outside = resolved.filter((p) => !p.startsWith(path.join(app, 'node_modules', 'mailer-rs') + path.sep));
    if (resolved.length === 0 || outside.length) throw new Error(`'mailer-rs' and its deep imports resolved to ${[...new Set(resolved)].join(', ') || 'nothing'}`);
  });
}

// napi's platform names for the targets in package.json's napi.targets.
const PLATFORMS = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
  'x86_64-pc-windows-msvc': 'win32-x64-msvc',
  'aarch64-pc-windows-msvc': 'win32-arm64-msvc',
};

function platformsOf(pkg) {
  return pkg.napi.targets.map((t) => {
    const p = PLATFORMS[t];
    if (!p) throw new Error(`no platform name for the target ${t}`);
    const file = path.join(root, 'npm', p, 'package.json');
    if (!fs.existsSync(file)) throw new Error(`npm/${p}/package.json missing (napi create-npm-dirs)`);
    const pkgJson = JSON.parse(fs.readFileSync(file, 'utf8'));
    const want = { name: `${pkg.napi.packageName}-${p}`, version: pkg.version, main: `${pkg.napi.binaryName}.${p}.node` };
    for (const [k, v] of Object.entries(want)) {
      if (pkgJson[k] !== v) throw new Error(`npm/${p}/package.json: ${k} is ${JSON.stringify(pkgJson[k])}, expected ${JSON.stringify(v)}`);
    }
    if (!pkgJson.files.includes(want.main)) throw new Error(`npm/${p}/package.json: files lacks ${want.main}`);
    return p;
  });
}

function packJson(out) {
  // npm pack prints lifecycle output (prepare) before the JSON.
  return JSON.parse(out.slice(out.search(/^\[/m)))[0];
}

function packTarball(dir, dest) {
  const out = sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: dir });
  return packJson(out).filename;
}

function maxGlibc(file) {
  const r = spawnSync('objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 256 * 1048576 });
  if (r.status !== 0) return 'unknown (objdump failed)';
  const v = [...r.stdout.matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)].map((m) => m[1]);
  return v.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop() || 'none';
}

function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.error(`not ok - ${name}\n  ${String(e.message).replace(/\n/g, '\n  ')}`);
  }
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1048576, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function runAsync(cmd, args, opts) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, opts);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

// A minimal SMTP server on 127.0.0.1 (RFC 5321: greeting, EHLO, MAIL, RCPT, DATA, QUIT).
function smtpServer() {
  const messages = [];
  const envelopes = [];
  const srv = net.createServer((sock) => {
    let buf = '';
    let inData = false;
    let data = '';
    sock.setEncoding('latin1');
    sock.write('220 localhost ESMTP package-test\r\n');
    sock.on('data', (chunk) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          data += buf.slice(0, end + 2);
          buf = buf.slice(end + 5);
          inData = false;
          messages.push(data);
          data = '';
          sock.write('250 2.0.0 Ok: queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') sock.write('250-localhost\r\n250 8BITMIME\r\n');
        else if (verb === 'HELO') sock.write('250 localhost\r\n');
        else if (verb === 'MAIL' || verb === 'RCPT') {
          envelopes.push(line);
          sock.write('250 2.1.0 Ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          sock.write('354 End data with <CR><LF>.<CR><LF>\r\n');
        } else if (verb === 'QUIT') {
          sock.end('221 2.0.0 Bye\r\n');
          return;
        } else if (verb === 'RSET' || verb === 'NOOP') sock.write('250 2.0.0 Ok\r\n');
        else sock.write('502 5.5.2 Command not recognized\r\n');
      }
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => resolve({ port: srv.address().port, messages, envelopes, close: () => srv.close() }));
  });
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-package-'));
const keep = process.env.MAILER_RS_KEEP_PACKAGE_TEST === '1';
try {
  await main();
} catch (e) {
  failed++;
  console.error(`not ok - ${e.message}`);
} finally {
  if (keep) console.log(`test-package: kept ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
}
console.log(`test-package: ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
