'use strict';
// Values the native addon makes belong to the realm (V8 context) that loaded it first. Under
// jest each test file runs in a vm context with its own Array, Object and Error, while the
// addon stays loaded in the worker's main context: an `info.accepted` made there fails
// `toBeInstanceOf(Array)`, an error `toBeInstanceOf(Error)`, where nodemailer's values, made
// by JS loaded inside the test's context, pass. This file is loaded in the caller's realm
// (jest's module registry evaluates it there), so what `adopt` builds belongs to it. In one
// realm (plain Node, vitest's threads and forks pools) it returns its argument untouched.
const { isNativeError, isArrayBuffer, isSharedArrayBuffer, isDate } = require('node:util').types;

// Errors the addon may make, by name; anything else becomes an Error with its name kept.
const ERRORS = { Error, TypeError, RangeError, SyntaxError, ReferenceError };

/** `v`, or a copy of it made in this realm when it (an object) comes from another one. */
function adopt(v) {
  if (v === null || typeof v !== 'object' || v instanceof Object) return v;
  return copy(v);
}

function copy(v) {
  // Buffers are Node's own in every realm (jest hands the test Node's Buffer)
  if (ArrayBuffer.isView(v) || isArrayBuffer(v) || isSharedArrayBuffer(v)) return v;
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = adopt(v[i]);
    return out;
  }
  if (isNativeError(v)) return copyError(v);
  if (isDate(v)) return new Date(v.getTime());
  const out = {};
  for (const key of Object.keys(v)) out[key] = adopt(v[key]);
  return out;
}

function copyError(e) {
  const Ctor = Object.hasOwn(ERRORS, e.name) ? ERRORS[e.name] : Error;
  const out = new Ctor(e.message);
  if (!Object.hasOwn(ERRORS, e.name) && typeof e.name === 'string') out.name = e.name;
  // the same own fields, in the same order (code, response, responseCode, command, ...)
  for (const key of Object.keys(e)) out[key] = adopt(e[key]);
  // where the addon made it: a synchronous throw names the caller's frames
  Object.defineProperty(out, 'stack', { value: e.stack, writable: true, configurable: true, enumerable: false });
  return out;
}

/** The outcome of a promise from the addon, value or error adopted, in a promise of this realm. */
async function settled(promise) {
  let value;
  try {
    value = await promise;
  } catch (err) {
    throw adopt(err);
  }
  return adopt(value);
}

module.exports = { adopt, settled };
