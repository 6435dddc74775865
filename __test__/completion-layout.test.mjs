// The outcome of a send crosses from Rust to JS as STRIDE positional values in a flat batch:
// src/binding/transport.rs (`mod slot`) writes them and lib/mailer.js (`SLOT`) reads them.
// Both files name every offset; this test fails when the names, offsets or stride disagree,
// or when either side indexes a batch by a bare number instead of a name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

const read = (rel) => fs.readFileSync(new URL(`../${rel}`, import.meta.url), 'utf8');
const rust = read('src/binding/transport.rs');
const js = read('lib/mailer.js');

function rustSlots() {
  const block = rust.match(/\nmod slot \{\n([\s\S]*?)\n\}\n/);
  assert.ok(block, 'mod slot in src/binding/transport.rs');
  return Object.fromEntries([...block[1].matchAll(/pub const (\w+): u32 = (\d+);/g)].map((m) => [m[1], Number(m[2])]));
}

function jsSlots() {
  const block = js.match(/\nconst SLOT = Object\.freeze\(\{\n([\s\S]*?)\n\}\);\n/);
  assert.ok(block, 'const SLOT in lib/mailer.js');
  return Object.fromEntries([...block[1].matchAll(/^\s*(\w+): (\d+),?$/gm)].map((m) => [m[1], Number(m[2])]));
}

test('Rust and JS name the same offsets for the completion batch', () => {
  const r = rustSlots();
  const j = jsSlots();
  assert.deepEqual(j, r);
  const { STRIDE, ...fields } = r;
  // every offset below STRIDE is used once
  assert.deepEqual(Object.values(fields).sort((a, b) => a - b), [...Array(STRIDE).keys()]);
});

test('neither side indexes a batch by a bare number', () => {
  assert.doesNotMatch(rust, /\bbase \+ \d/);
  assert.doesNotMatch(rust, /out\.set\(base,/);
  assert.doesNotMatch(js, /\b(b|batch)\[i( \+ \d+)?\]/);
  assert.match(js, /const STRIDE = SLOT\.STRIDE;/);
});
