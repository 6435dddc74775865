'use strict';
// nodemailer-compatible logging: `logger: true` prints to the console, an object is used as a
// bunyan-style logger (`level(entry, format, ...args)`), anything else is silent.
const util = require('node:util');

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

function consoleLogger(component) {
  const out = {};
  for (const level of LEVELS) {
    out[level] = (entry, ...args) => {
      const prefix = `[${new Date().toISOString().replace('T', ' ').slice(0, 19)}] ${level.toUpperCase()}${component ? ' [' + component + ']' : ''}`;
      const ids = entry && (entry.cid || entry.sid) ? ` [${entry.cid || entry.sid}]` : '';
      const text = util.format(...args);
      for (const line of String(text).split(/\r?\n/)) console.log(`${prefix}${ids} ${line}`);
    };
  }
  return out;
}

/** Returns a logger with every level method, or null when logging is off. */
function getLogger(options, defaults) {
  const opt = options.logger;
  if (!opt) return null;
  const component = options.component || (defaults && defaults.component) || 'mail';
  if (opt === true) return consoleLogger(component);
  const logger = {};
  for (const level of LEVELS) {
    // A logger missing a level falls back to one it has, as nodemailer does.
    const fn = typeof opt[level] === 'function' ? opt[level] : LEVELS.map((l) => opt[l]).find((f) => typeof f === 'function');
    logger[level] = fn ? (entry, ...args) => fn.call(opt, Object.assign({ component }, entry), ...args) : () => {};
  }
  return logger;
}

// nodemailer's module that writes each engine record: its default `component`.
const SOURCE_COMPONENTS = { connection: 'smtp-connection', transport: 'smtp-transport', pool: 'smtp-pool' };

/**
 * The engine's log callback: `(level, tnx, source, fields, template, args)` becomes nodemailer's
 * `logger[level]({ component, sid, tnx, ...fields }, template, ...args)`. `fields` is flat
 * `[key, value, …]`; a `#key` holds a number, a `?key` a boolean.
 */
function engineLogSink(logger, options) {
  const transportComponent = options.pool ? 'smtp-pool' : 'smtp-transport';
  return (level, tnx, source, fields, template, args) => {
    const entry = { component: options.component || (source === 'transport' ? transportComponent : SOURCE_COMPONENTS[source]) };
    let i = 0;
    if (fields[0] === 'sid') {
      entry.sid = fields[1];
      i = 2;
    }
    entry.tnx = tnx;
    for (; i < fields.length; i += 2) {
      const key = fields[i];
      if (key[0] === '#') entry[key.slice(1)] = Number(fields[i + 1]);
      else if (key[0] === '?') entry[key.slice(1)] = fields[i + 1] === 'true';
      else entry[key] = fields[i + 1];
    }
    (logger[level] || logger.info)(entry, template, ...args);
  };
}

module.exports = { getLogger, engineLogSink, LEVELS };
