'use strict';
// Sockets made in JS carry connections the Rust engine drives: nodemailer's `getSocket` option,
// `connection` (an open socket) and `socket` (one to connect) options, and custom proxy
// handlers (`set('proxy_handler_<scheme>', fn)`). Rust asks for a socket with `open(id, host,
// port)`; the socket's bytes, end, close and errors go to Rust by `id`, and Rust's writes,
// end and destroy come back through `ops`.
const urllib = require('node:url');
const native = require('../binding.js');

const OP_WRITE = 0;
const OP_END = 1;
const OP_DESTROY = 2;
const OP_RESUME = 3;

// nodemailer's socketCloseTimeout: an ended socket whose peer never closes is destroyed then
const CLOSE_TIMEOUT = 5000;

/** Sockets carrying a connection, by id. */
const live = new Map();

function ops(id, op, data) {
  const entry = live.get(id);
  if (!entry) return;
  const { socket } = entry;
  switch (op) {
    case OP_WRITE: {
      const n = data.length;
      try {
        // the callback runs once the bytes left (or failed): that is Rust's backpressure
        socket.write(data, () => native.socketWritten(id, n));
      } catch (err) {
        native.socketError(id, String((err && err.message) || err), err && err.code ? String(err.code) : null);
      }
      break;
    }
    case OP_END:
      entry.ended = true;
      try {
        socket.end();
      } catch {
        socket.destroy();
      }
      break;
    case OP_DESTROY:
      live.delete(id);
      detach(entry);
      if (entry.ended && !socket.destroyed) {
        const timer = setTimeout(() => socket.destroy(), CLOSE_TIMEOUT);
        timer.unref();
        socket.once('close', () => clearTimeout(timer));
      } else socket.destroy();
      break;
    case OP_RESUME:
      socket.resume();
      break;
  }
}

function detach(entry) {
  const { socket, listeners } = entry;
  for (const [event, fn] of listeners) socket.removeListener(event, fn);
  // a late error after the connection let go of the socket must not become an uncaught one
  socket.on('error', () => {});
}

/** Hands `socket` to Rust as socket `id`; false when the connection no longer waits for it. */
function attach(id, socket, info) {
  if (!native.socketOpened(id, info)) {
    socket.destroy();
    return false;
  }
  const listeners = [
    ['data', (chunk) => {
      if (native.socketData(id, typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) socket.pause();
    }],
    ['end', () => native.socketEnd(id)],
    ['close', () => native.socketClosed(id)],
    ['error', (err) => native.socketError(id, String((err && err.message) || err), err && err.code ? String(err.code) : null)],
  ];
  const entry = { socket, listeners, ended: false };
  live.set(id, entry);
  for (const [event, fn] of listeners) socket.on(event, fn);
  // a socket that is already gone fails the connection at once
  if (socket.destroyed) native.socketClosed(id);
  // paused sockets (e.g. handed over by a proxy client) would never deliver the greeting
  if (typeof socket.resume === 'function') socket.resume();
  return true;
}

function fail(id, err) {
  const e = err instanceof Error ? err : new Error(String(err));
  native.socketOpenFailed(id, String(e.message), e.code ? String(e.code) : null);
}

function socketInfo(socket, socketOptions, options) {
  const secured = socketOptions.secured !== undefined ? socketOptions.secured : options.secured;
  const info = {
    secured: !!secured,
    remoteAddress: typeof socket.remoteAddress === 'string' ? socket.remoteAddress : undefined,
    remotePort: Number(socket.remotePort) || undefined,
    localAddress: typeof socket.localAddress === 'string' ? socket.localAddress : undefined,
    localPort: Number(socket.localPort) || undefined,
  };
  // the socket options are merged over the connection options, as in nodemailer
  if (socketOptions.secure !== undefined) info.secure = !!socketOptions.secure;
  if (typeof socketOptions.host === 'string' && socketOptions.host) info.host = socketOptions.host;
  return info;
}

/**
 * The `open` function for a transporter (`ref`: a WeakRef to it; the native side holds this
 * function, and a strong reference would keep the transporter alive).
 */
function socketOpener(ref) {
  return (id, host, port) => {
    const mail = ref.deref();
    if (!mail) return fail(id, Object.assign(new Error('The transporter is gone'), { code: 'ECONNECTION' }));
    const o = mail.transporter.options;
    // what nodemailer's getSocket receives: the transport options, with the host and port this
    // connection goes to
    const options = Object.assign({}, o, { host, port, connectStartedAt: Date.now() });
    let getSocket = null;
    if (typeof o.proxy === 'string' && o.proxy) {
      // nodemailer's Mail replaces the transport's getSocket when `proxy` is set
      const proxy = urllib.parse(o.proxy);
      const handler = mail.get('proxy_handler_' + String(proxy.protocol || '').replace(/:$/, '').toLowerCase());
      if (typeof handler === 'function') getSocket = (opts, cb) => handler(proxy, opts, cb);
      else if (mail._customProxy) {
        return fail(id, Object.assign(new Error('Unknown proxy configuration'), { code: 'EPROXY' }));
      }
      // no handler: the built-in proxy client (Rust)
      else return native.socketOpened(id, null);
    } else if (typeof o.getSocket === 'function') getSocket = o.getSocket;

    const fallback = () => {
      if (o.connection) return attach(id, o.connection, socketInfo(o.connection, {}, o));
      if (o.socket) return connectSocket(id, o.socket, host, port, o);
      native.socketOpened(id, null);
    };
    if (!getSocket) return fallback();
    let answered = false;
    const done = (err, socketOptions) => {
      if (answered) return;
      answered = true;
      if (err) return fail(id, err);
      if (socketOptions && socketOptions.connection) {
        const socket = socketOptions.connection;
        if (attach(id, socket, socketInfo(socket, socketOptions, o)) && mail.logger) {
          mail.logger.info(
            { tnx: 'proxy', remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, destHost: o.host || '', destPort: o.port || '', action: 'connected' },
            'Using proxied socket from %s:%s to %s:%s',
            socket.remoteAddress,
            socket.remotePort,
            o.host || '',
            o.port || ''
          );
        }
        return;
      }
      fallback();
    };
    try {
      getSocket(options, done);
    } catch (err) {
      done(err);
    }
  };
}

/** nodemailer's `socket` option: a socket not yet connected; connected here to host:port. */
function connectSocket(id, socket, host, port, o) {
  const onError = (err) => fail(id, err);
  socket.once('error', onError);
  try {
    socket.connect(port, host, () => {
      socket.removeListener('error', onError);
      attach(id, socket, socketInfo(socket, {}, o));
    });
  } catch (err) {
    socket.removeListener('error', onError);
    fail(id, err);
  }
}

/** Installs the socket bridge on `mail`'s native transport (once). */
function installSocketBridge(mail) {
  if (mail._socketBridge) return;
  mail._socketBridge = true;
  mail._native.setSocketHandlers(socketOpener(new WeakRef(mail)), ops);
}

module.exports = { installSocketBridge };
