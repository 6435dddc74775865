// The recipes of docs/bundlers.md, built and run: esbuild 0.28 and webpack 5 bundle a small app
// that uses mailer-rs, from a project laid out as npm installs it (node_modules/mailer-rs holds
// the files the package publishes, with no .node; node_modules/@mailer-rs/binding-<platform> holds
// this build's addon). Each bundle runs in a child process (with a timeout) and sends one message
// through jsonTransport and one over SMTP to smtp-server on 127.0.0.1, which must receive it.
// A bundle a recipe calls self-contained runs from a directory with no node_modules at all; one
// that keeps the platform package external runs from a directory holding only the bundle and that
// package, which is what a serverless zip holds.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSmtpServer } from './helpers/smtp.mjs';

const require = createRequire(import.meta.url);
const esbuild = require('esbuild');
const webpack = require('webpack');

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const RUN_TIMEOUT_MS = 30_000;

// This machine's build, next to binding.js, stands in for the published platform package.
const nodeFiles = fs.readdirSync(root).filter((f) => /^mailer-rs\.[\w-]+\.node$/.test(f));
const nodeFile = nodeFiles[0];
const platform = nodeFile && nodeFile.slice('mailer-rs.'.length, -'.node'.length);
const platformPkg = `${pkg.napi.packageName}-${platform}`;

let work;
let project;
let smtp;
let sent = 0;

// The bundler reads the package, never the repository: a copy of what `npm pack` ships.
function layOutProject(dir) {
  const mod = path.join(dir, 'node_modules', 'mailer-rs');
  fs.mkdirSync(mod, { recursive: true });
  for (const f of [...pkg.files, 'package.json']) {
    fs.cpSync(path.join(root, f), path.join(mod, f), { recursive: true });
  }
  addPlatformPackage(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  fs.writeFileSync(
    path.join(dir, 'app.js'),
    `const nodemailer = require('mailer-rs');
const SMTPTransport = require('mailer-rs/lib/smtp-transport');
(async () => {
  if (typeof SMTPTransport !== 'function') throw new Error('deep import mailer-rs/lib/smtp-transport');
  const json = await nodemailer.createTransport({ jsonTransport: true })
    .sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'json ' + process.env.SUBJECT, text: 'x' });
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: Number(process.env.SMTP_PORT), ignoreTLS: true });
  const info = await transport.sendMail({ from: 'a@example.com', to: 'c@example.com', subject: process.env.SUBJECT, text: 'from a bundle' });
  transport.close();
  console.log(JSON.stringify({ json: JSON.parse(json.message).subject, accepted: info.accepted, response: info.response }));
})().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1); });
`,
  );
  fs.writeFileSync(
    path.join(dir, 'app.mjs'),
    `import nodemailer, { createTransport } from 'mailer-rs';
if (nodemailer.createTransport !== createTransport) throw new Error('default and named exports differ');
const json = await createTransport({ jsonTransport: true })
  .sendMail({ from: 'a@example.com', to: 'b@example.com', subject: 'json ' + process.env.SUBJECT, text: 'x' });
const transport = createTransport({ host: '127.0.0.1', port: Number(process.env.SMTP_PORT), ignoreTLS: true });
const info = await transport.sendMail({ from: 'a@example.com', to: 'c@example.com', subject: process.env.SUBJECT, text: 'from a bundle' });
transport.close();
console.log(JSON.stringify({ json: JSON.parse(json.message).subject, accepted: info.accepted, response: info.response }));
`,
  );
}

// node_modules/@mailer-rs/binding-<platform>: its package.json and the addon (a hard link: the
// debug build is over 100 MB).
function addPlatformPackage(dir) {
  const dest = path.join(dir, 'node_modules', ...platformPkg.split('/'));
  fs.mkdirSync(dest, { recursive: true });
  fs.copyFileSync(path.join(root, 'npm', platform, 'package.json'), path.join(dest, 'package.json'));
  try {
    fs.linkSync(path.join(root, nodeFile), path.join(dest, nodeFile));
  } catch {
    fs.copyFileSync(path.join(root, nodeFile), path.join(dest, nodeFile));
  }
}

// A directory the bundle output goes to, and is run from; outside the project (no node_modules
// above it) unless `inProject`.
function outDir(name, inProject = false) {
  const dir = path.join(inProject ? project : work, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// A clean environment: no loader override, no NODE_PATH to find packages through.
function childEnv(extra) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^NAPI_RS_|^NODE_PATH$|^NODE_OPTIONS$/.test(k)));
  return { ...env, SMTP_PORT: String(smtp.port), ...extra };
}

function runNode(file, extraEnv = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: path.dirname(file), env: childEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

// Runs a bundle and checks both sends, and that the SMTP server got the message.
async function runsAndSends(file, extraEnv = {}) {
  const subject = `bundle ${++sent} ${path.basename(path.dirname(file))}`;
  const r = await runNode(file, { ...extraEnv, SUBJECT: subject });
  assert.equal(r.status, 0, `node ${file} exited ${r.status} ${r.signal || ''}\n${r.stderr}${r.stdout}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.equal(out.json, `json ${subject}`);
  assert.deepEqual(out.accepted, ['c@example.com']);
  assert.match(out.response, /^250 /);
  const got = smtp.messages.find((m) => m.raw.toString('latin1').includes(`Subject: ${subject}\r\n`));
  assert.ok(got, `the SMTP server received "${subject}"`);
  assert.deepEqual(got.envelope.rcptTo.map((a) => a.address), ['c@example.com']);
}

function nodeFilesIn(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.node'));
}

async function esbuildBuild(options) {
  const result = await esbuild.build({
    absWorkingDir: project,
    bundle: true,
    platform: 'node',
    logLevel: 'silent',
    ...options,
  });
  assert.deepEqual(result.errors, []);
  return result;
}

function webpackBuild(config) {
  return new Promise((resolve, reject) => {
    webpack(
      {
        mode: 'production',
        target: 'node',
        context: project,
        entry: './app.js',
        optimization: { minimize: false },
        ...config,
      },
      (err, stats) => {
        if (err) return reject(err);
        const { errors, warnings } = stats.toJson({ all: false, errors: true, warnings: true });
        resolve({ errors: errors.map((e) => e.message), warnings: warnings.map((w) => ({ message: w.message, module: w.moduleName || '' })) });
      },
    );
  });
}

// What webpack may still say about mailer-rs when it bundles the loader: each other published
// platform's local build and package is missing (optional: each require sits in a try block).
function checkLoaderWarnings(warnings) {
  for (const w of warnings) {
    assert.match(w.module, /node_modules[\\/]mailer-rs[\\/]binding\.js/, w.message);
    assert.match(w.message, /^Module not found: Error: Can't resolve '(\.\/mailer-rs\.[\w-]+\.node|@mailer-rs\/binding-[\w-]+)'/, w.message);
  }
  // napi's generated loader drew 85 (every platform napi knows, WASI, and computed requires).
  assert.equal(warnings.length, 2 * pkg.napi.targets.length - 1, warnings.map((w) => w.message.split('\n')[0]).join('\n'));
}

before(async () => {
  assert.ok(nodeFile, 'no mailer-rs.<platform>.node next to binding.js: run npm run build:debug');
  assert.ok(fs.existsSync(path.join(root, 'npm', platform, 'package.json')), `npm/${platform}/package.json`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mailer-rs-bundlers-'));
  project = path.join(work, 'project');
  layOutProject(project);
  smtp = await startSmtpServer();
});

after(async () => {
  if (smtp) await smtp.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the project is laid out as installed: mailer-rs without a .node, the addon from the platform package', async () => {
  assert.deepEqual(nodeFilesIn(path.join(project, 'node_modules', 'mailer-rs')), []);
  await runsAndSends(path.join(project, 'app.js'));
});

test('esbuild, mailer-rs external: the bundle requires the installed package', async () => {
  const dir = outDir('dist-esbuild-external', true);
  await esbuildBuild({ entryPoints: ['app.js'], outfile: path.join(dir, 'app.js'), external: ['mailer-rs'] });
  const code = fs.readFileSync(path.join(dir, 'app.js'), 'utf8');
  assert.match(code, /require\("mailer-rs"\)/);
  assert.doesNotMatch(code, /NativeTransport/, 'mailer-rs is not in the bundle');
  await runsAndSends(path.join(dir, 'app.js'));
});

test('esbuild, everything bundled, --loader:.node=copy: a self-contained directory', async () => {
  const dir = outDir('esbuild-copy');
  await esbuildBuild({ entryPoints: ['app.js'], outdir: dir, loader: { '.node': 'copy' } });
  assert.equal(nodeFilesIn(dir).length, 1, `one addon copied: ${nodeFilesIn(dir)}`);
  await runsAndSends(path.join(dir, 'app.js'));
  fs.rmSync(dir, { recursive: true });
});

test('esbuild, --loader:.node=file: the path it substitutes is loaded (was "NativeTransport is not a constructor")', async () => {
  const dir = outDir('esbuild-file');
  await esbuildBuild({ entryPoints: ['app.js'], outdir: dir, loader: { '.node': 'file' } });
  assert.equal(nodeFilesIn(dir).length, 1);
  await runsAndSends(path.join(dir, 'app.js'));
  fs.rmSync(dir, { recursive: true });
});

test('esbuild, ESM output (createRequire banner) with the copy loader', async () => {
  const dir = outDir('esbuild-esm');
  await esbuildBuild({
    entryPoints: ['app.mjs'],
    outdir: dir,
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    loader: { '.node': 'copy' },
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  await runsAndSends(path.join(dir, 'app.mjs'));
  fs.rmSync(dir, { recursive: true });
});

test('esbuild, platform package external: bundle + node_modules/@mailer-rs/binding-<platform> (a serverless zip)', async () => {
  const dir = outDir('esbuild-zip');
  await esbuildBuild({ entryPoints: ['app.js'], outfile: path.join(dir, 'app.js'), external: ['@mailer-rs/binding-*'] });
  assert.deepEqual(nodeFilesIn(dir), []);
  // Without the platform package: a clear error naming it and the docs.
  const missing = await runNode(path.join(dir, 'app.js'), { SUBJECT: 'not sent' });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /ERR_MAILER_RS_NATIVE|cannot load its native addon/);
  assert.ok(missing.stderr.includes(`Cannot find module '${platformPkg}'`), missing.stderr);
  assert.ok(missing.stderr.includes('docs/bundlers.md'), missing.stderr);
  addPlatformPackage(dir);
  await runsAndSends(path.join(dir, 'app.js'));
});

test('webpack 5, externals mailer-rs: no warning, the bundle requires the installed package', async () => {
  const dir = outDir('dist-webpack-external', true);
  const { errors, warnings } = await webpackBuild({
    output: { path: dir, filename: 'app.js' },
    externalsType: 'commonjs',
    externals: [/^mailer-rs(\/|$)/],
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(warnings, []);
  assert.doesNotMatch(fs.readFileSync(path.join(dir, 'app.js'), 'utf8'), /NativeTransport/);
  await runsAndSends(path.join(dir, 'app.js'));
});

test('webpack 5, everything bundled, node-loader for .node: a self-contained directory', async () => {
  const dir = outDir('webpack-node-loader');
  const { errors, warnings } = await webpackBuild({
    output: { path: dir, filename: 'app.js' },
    module: { rules: [{ test: /\.node$/, loader: require.resolve('node-loader'), options: { name: '[name].[ext]' } }] },
  });
  assert.deepEqual(errors, []);
  checkLoaderWarnings(warnings);
  assert.deepEqual(nodeFilesIn(dir), [nodeFile]);
  await runsAndSends(path.join(dir, 'app.js'));
  fs.rmSync(dir, { recursive: true });
});

test('webpack 5, everything bundled, type asset/resource for .node (no loader package), ignoreWarnings', async () => {
  const dir = outDir('webpack-asset');
  const { errors, warnings } = await webpackBuild({
    output: { path: dir, filename: 'app.js' },
    module: { rules: [{ test: /\.node$/, type: 'asset/resource', generator: { filename: '[name][ext]' } }] },
    ignoreWarnings: [{ module: /node_modules[\\/]mailer-rs[\\/]binding\.js$/, message: /Module not found/ }],
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(warnings, []);
  assert.deepEqual(nodeFilesIn(dir), [nodeFile]);
  await runsAndSends(path.join(dir, 'app.js'));
  fs.rmSync(dir, { recursive: true });
});

test('webpack 5, without a rule for .node: the build fails on the addon (what the recipes avoid)', async () => {
  const dir = outDir('webpack-plain');
  const { errors } = await webpackBuild({ output: { path: dir, filename: 'app.js' } });
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0], /Module parse failed/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('webpack 5, platform package external: bundle + node_modules/@mailer-rs/binding-<platform> (a serverless zip)', async () => {
  const dir = outDir('webpack-zip');
  const { errors, warnings } = await webpackBuild({
    output: { path: dir, filename: 'app.js' },
    externalsType: 'commonjs',
    externals: [/^@mailer-rs\/binding-/],
  });
  assert.deepEqual(errors, []);
  // Only the local builds of the published platforms are left to report as missing.
  for (const w of warnings) assert.match(w.message, /^Module not found: Error: Can't resolve '\.\/mailer-rs\.[\w-]+\.node'/);
  assert.equal(warnings.length, pkg.napi.targets.length);
  assert.deepEqual(nodeFilesIn(dir), []);
  // No platform package yet: NAPI_RS_NATIVE_LIBRARY_PATH still points the bundled loader at an
  // addon (it is loaded by path, not by a require webpack would have turned into an empty context).
  await runsAndSends(path.join(dir, 'app.js'), { NAPI_RS_NATIVE_LIBRARY_PATH: path.join(root, nodeFile) });
  addPlatformPackage(dir);
  await runsAndSends(path.join(dir, 'app.js'));
});

test('the loader on a platform without a package: ERR_MAILER_RS_NATIVE naming the published ones', async () => {
  const script = path.join(work, 'other-platform.cjs');
  fs.writeFileSync(
    script,
    `Object.defineProperty(process, 'platform', { value: 'freebsd' });
try { require(${JSON.stringify(path.join(project, 'node_modules', 'mailer-rs'))}); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
`,
  );
  const r = await runNode(script);
  assert.equal(r.status, 0, r.stderr);
  const { code, message } = JSON.parse(r.stdout);
  assert.equal(code, 'ERR_MAILER_RS_NATIVE');
  assert.match(message, /no native addon for freebsd-/);
  for (const p of ['linux-x64-gnu', 'linux-arm64-musl', 'darwin-arm64', 'win32-x64-msvc']) assert.ok(message.includes(p), message);
});
