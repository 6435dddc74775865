'use strict';
// nodemailer's `customAuth`: a SASL mechanism of the user's own. The connection runs in Rust;
// when it logs in with a mechanism that has a handler here, Rust calls the runner below, and
// the handler's sendCommand / resolve / reject go back to that login by its session id.
const native = require('../binding.js');

/**
 * nodemailer's reply object for `sendCommand` (lib/smtp-connection/index.js): `command`,
 * `response`, `status`, `code` (enhanced status, when present) and `text`.
 */
function replyData(command, str) {
  const data = { command, response: str };
  const codes = str.match(/^(\d+)(?:\s(\d+\.\d+\.\d+))?\s/);
  if (codes) {
    data.status = Number(codes[1]) || 0;
    if (codes[2]) data.code = codes[2];
    data.text = str.substr(codes[0].length);
  } else {
    data.text = str;
    data.status = 0;
  }
  return data;
}

/** The message of a rejection, as nodemailer's `_formatError` turns it into an Error. */
function rejectionMessage(err) {
  if (Object.prototype.toString.call(err).endsWith('Error]')) return String(err.message);
  return String(new Error(err).message);
}

/**
 * The runner Rust calls for each login with a custom mechanism. `handlers`: the transport's
 * `customAuth`; `auth`: its `auth` options (for `ctx.auth`); `authMethod`: its `authMethod`;
 * `run(fn)`: calls `fn` in the async context the handler should see.
 */
function customAuthRunner(handlers, auth, authMethod, run) {
  const byMethod = new Map();
  for (const key of Object.keys(handlers)) {
    const name = (key || '').toString().trim().toUpperCase();
    if (name && typeof handlers[key] === 'function') byMethod.set(name, handlers[key]);
  }
  const a = auth && typeof auth === 'object' ? auth : {};
  const start = (session, method, user, pass, extensions, authMethods, maxAllowedSize) => {
    const handler = byMethod.get(method);
    let returned = false;
    const resolve = () => {
      if (returned) return;
      returned = true;
      native.customAuthDone(session, null);
    };
    const reject = (err) => {
      if (returned) return;
      returned = true;
      native.customAuthDone(session, rejectionMessage(err));
    };
    // one function for both forms: a promise exactly when no callback is given
    const sendCommand = (cmd, done) => {
      let promise;
      if (typeof done !== 'function') {
        promise = new Promise((res, rej) => {
          done = (err, data) => (err ? rej(err) : res(data));
        });
      }
      native.customAuthCommand(session, String(cmd)).then(
        (str) => done(null, replyData(cmd, str)),
        (err) => done(err)
      );
      return promise;
    };
    // the shape of nodemailer's auth data (lib/smtp-transport/index.js getAuth)
    const ctxAuth = {
      type: (a.type || '').toString().toUpperCase() || 'LOGIN',
      user: user || a.user,
      credentials: { user, pass: pass === '' ? a.pass : pass, options: a.options },
      method: (a.method || '').toString().trim().toUpperCase() || authMethod || false,
    };
    if (!handler) return reject(new Error(`No handler for "${method}"`));
    try {
      const r = handler({
        auth: ctxAuth,
        method,
        extensions,
        authMethods,
        maxAllowedSize: maxAllowedSize || false,
        sendCommand,
        resolve,
        reject,
      });
      if (r && typeof r.catch === 'function') r.then(resolve).catch(reject);
    } catch (err) {
      // nodemailer lets this escape from a socket event (an uncaught exception); here the
      // login fails instead
      reject(err);
    }
  };
  return (...args) => run(start, args);
}

module.exports = { customAuthRunner, replyData };
