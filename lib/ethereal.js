'use strict';
// nodemailer's createTestAccount (lib/nodemailer.js): asks the Ethereal API for a throwaway SMTP
// account. The HTTP request is made in Rust (certificates always checked); the JSON answer is
// parsed here, as nodemailer parses it, and the account is kept for the process.
const native = require('../binding.js');
const { adopt } = require('./realm');

// Read on use, not at load (as nodemailer: Deno refuses environment access without --allow-env).
const apiUrlFromEnv = () => (process.env.ETHEREAL_API || 'https://api.nodemailer.com').replace(/\/+$/, '');
const webUrlFromEnv = () => (process.env.ETHEREAL_WEB || 'https://ethereal.email').replace(/\/+$/, '');
const apiKeyFromEnv = () => (process.env.ETHEREAL_API_KEY || '').replace(/\s*/g, '') || null;
const cacheEnabled = () => ['true', 'yes', 'y', '1'].includes(String(process.env.ETHEREAL_CACHE || 'yes').trim().toLowerCase());

// the last account created (nodemailer keeps one per process)
let testAccount = false;

/**
 * `createTestAccount([apiUrl], [callback])`: the account object `{ user, pass, smtp, imap, pop3,
 * web, ... }`, from the cache when ETHEREAL_CACHE allows (the default). Without a callback it
 * returns a Promise.
 */
function createTestAccount(apiUrl, callback) {
  let promise;
  if (!callback && typeof apiUrl === 'function') {
    callback = apiUrl;
    apiUrl = false;
  }
  if (!callback) {
    promise = new Promise((resolve, reject) => {
      callback = (err, account) => (err ? reject(err) : resolve(account));
    });
  }
  const cb = callback;
  // outside the request's promise chain: a callback that throws is an uncaught exception, as in
  // nodemailer, not a rejection nobody handles
  const done = (err, account) => process.nextTick(cb, err, account);
  if (cacheEnabled() && testAccount) {
    setImmediate(() => done(null, testAccount));
    return promise;
  }
  const url = apiUrl || apiUrlFromEnv();
  native.etherealRequest(String(url), apiKeyFromEnv()).then(
    (text) => {
      let data;
      try {
        data = JSON.parse(text);
      } catch (err) {
        return done(err);
      }
      if (!data || typeof data !== 'object' || data.status !== 'success' || data.error) {
        return done(new Error((data && data.error) || 'Request failed'));
      }
      delete data.status;
      testAccount = data;
      done(null, testAccount);
    },
    (err) => done(adopt(err))
  );
  return promise;
}

/** The Ethereal web address for getTestMessageUrl: the cached account's, else ETHEREAL_WEB. */
function webUrl() {
  return (testAccount && testAccount.web) || webUrlFromEnv();
}

module.exports = { createTestAccount, webUrl };
