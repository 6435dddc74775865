// customAuth handlers, getSocket and custom proxy handlers as nodemailer's documentation writes
// them. Only the import line differs from a nodemailer program.
import nodemailer from 'mailer-rs';

// customAuth: a mechanism of one's own, promise form and callback form
const t = nodemailer.createTransport({
  host: 'smtp.example.com',
  port: 587,
  auth: { type: 'custom', method: 'MY-CUSTOM-METHOD', user: 'user', pass: 'pass', options: { clientId: 'x' } },
  customAuth: {
    'MY-CUSTOM-METHOD': async (ctx) => {
      const cmd = await ctx.sendCommand('AUTH PLAIN ' + Buffer.from('\u0000' + ctx.auth.credentials.user + '\u0000' + ctx.auth.credentials.pass, 'utf-8').toString('base64'));
      if (cmd.status < 200 || cmd.status >= 300) throw new Error('Failed to authenticate user: ' + cmd.text);
      const max: number | false = ctx.maxAllowedSize;
      const names: string[] = ctx.extensions.concat(ctx.authMethods, [ctx.method, String(max)]);
      void names;
    },
    OTHER: (ctx) => {
      ctx.sendCommand('AUTH OTHER', (err, data) => {
        if (err) return ctx.reject(err);
        if (data.code === '2.7.0') ctx.resolve();
        else ctx.reject('refused: ' + data.response);
      });
    },
  },
});
void t;

// getSocket, secured, connection / socket, proxy handlers
import net from 'node:net';
import tls from 'node:tls';

const viaSocket = nodemailer.createTransport({
  host: 'smtp.example.com',
  port: 465,
  secure: true,
  getSocket: (options, callback) => {
    const socket = tls.connect({ host: options.host, port: options.port }, () => callback(null, { connection: socket, secured: true }));
    socket.once('error', (err) => callback(err));
  },
});
viaSocket.set('proxy_handler_myproxy', (proxy, options, callback) => {
  const socket = net.connect(Number(proxy.port), proxy.hostname || '', () => callback(null, { connection: socket }));
  void options.host;
});
viaSocket.set('proxy_handler_none', (_proxy, _options, callback) => callback(null, false));
nodemailer.createTransport({ host: 'smtp.example.com', connection: new net.Socket() });
nodemailer.createTransport({ host: 'smtp.example.com', socket: new net.Socket(), secured: false });
