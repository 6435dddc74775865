// Each `@ts-expect-error` line is a mistake the types must catch. If the types became too loose
// (an index signature, `any`), the directive is unused and `tsc` fails: this file keeps them honest.
import nodemailer, { createTransport } from 'mailer-rs';

// @ts-expect-error port is a number (or numeric string), not a boolean
createTransport({ host: 'h', port: true });
// @ts-expect-error secure is a boolean
createTransport({ host: 'h', secure: 'yes' });
// @ts-expect-error a typo in an option name is caught (no index signature)
createTransport({ hots: 'smtp.example.com' });
// @ts-expect-error sendmail args are an array of strings
createTransport({ sendmail: true, args: '-t' });
// @ts-expect-error SES needs { sesClient, SendEmailCommand }
createTransport({ SES: {} });
// @ts-expect-error DKIM keys need a selector and a private key
createTransport({ host: 'h', dkim: { keys: [{ domainName: 'x' }] } });
// @ts-expect-error a proxy is a URL string
createTransport({ host: 'h', proxy: { host: 'p' } });
// @ts-expect-error OAuth2 expires is ms since the epoch (number)
createTransport({ auth: { type: 'OAuth2', user: 'u', accessToken: 't', expires: '2017-01-13' } });
// @ts-expect-error maxConnections is a number
createTransport({ pool: true, maxConnections: '5' });
// @ts-expect-error logger is a boolean or a logger object
createTransport({ logger: 'debug' });

const transporter = nodemailer.createTransport({ host: 'h' });
// @ts-expect-error the provisioning callback must be a function
transporter.set('oauth2_provision_cb', 'token');
// @ts-expect-error the callback's token is a string
transporter.set('oauth2_provision_cb', (user, renew, callback) => callback(null, 42));
// @ts-expect-error recipients are strings or address objects
transporter.sendMail({ to: 42 });
// @ts-expect-error attachments is an array
transporter.sendMail({ attachments: { filename: 'a.txt' } });
transporter.on('token', (token) => {
  // @ts-expect-error accessToken is a string
  token.accessToken.toFixed();
});
transporter.sendMail({ to: 'a@example.com' }, (err, info) => {
  // @ts-expect-error err may be null (strict)
  console.log(err.code);
  // @ts-expect-error responseCode is a number
  const rc: string = err!.responseCode;
  // @ts-expect-error accepted is string[]
  const n: number = info.accepted;
  void rc; void n;
});
async function f(): Promise<void> {
  const ok = await transporter.verify();
  // @ts-expect-error verify resolves `true`
  const s: string = ok;
  void s;
}
void f;
async function g(): Promise<void> {
  const account = await nodemailer.createTestAccount();
  // @ts-expect-error the account's user is a string
  const n: number = account.user;
  const info = await createTransport({ SES: { sesClient: { send: async () => ({}) }, SendEmailCommand: class {} } }).sendMail({});
  // @ts-expect-error SES info.raw is a Buffer
  const r: string = info.raw;
  void n; void r;
}
void g;
transporter.use('stream', (mail, done) => {
  // @ts-expect-error a transform is a stream or a function making one
  mail.message.transform('uppercase');
  // @ts-expect-error the envelope's recipients are strings
  const first: number = mail.message.getEnvelope().to[0];
  void first;
  done();
});
