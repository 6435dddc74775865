// sendMail / verify in both styles; defaults; attachments; streamTransport; plugins.
import nodemailer, { createTransport } from 'mailer-rs';
import type { SentMessageInfo, SMTPSentMessageInfo, StreamSentMessageInfo, Transporter, NodemailerError } from 'mailer-rs';
import { PassThrough, Readable } from 'node:stream';

const transporter = createTransport(
  { host: 'localhost', port: 2525, secure: false, tls: { rejectUnauthorized: false, ca: [Buffer.from('pem')] }, logger: true, debug: true },
  { from: '"Defaults" <defaults@example.com>', headers: { 'X-Campaign': 'c1' } }
);

transporter.verify((err, success) => {
  if (err) console.error(err.code, err.message);
  else {
    const ok: true = success;
    console.log('Server is ready to take our messages', ok);
  }
});
transporter.verify().then((ok: true) => console.log(ok));

transporter.sendMail(
  {
    to: ['bob@example.com', { name: 'Carol', address: 'carol@example.com' }],
    cc: 'dave@example.com, "Eve" <eve@example.com>',
    bcc: [{ name: 'Team', group: [{ address: 'a@example.com' }, { address: 'b@example.com' }] }],
    replyTo: { name: 'Support', address: 'support@example.com' },
    subject: 'Hello ✔',
    text: 'Hello world?',
    html: '<b>Hello world?</b>',
    attachments: [
      { filename: 'text1.txt', content: 'hello world!' },
      { filename: 'buffer.txt', content: Buffer.from('hello world!', 'utf-8') },
      { path: '/tmp/file.txt' },
      { filename: 'stream.txt', content: Readable.from(['hi']) },
      { filename: 'image.png', content: 'aGVsbG8=', encoding: 'base64', cid: 'unique@nodemailer.com' },
      { raw: 'Content-Type: text/plain\r\n\r\nHello' },
    ],
    headers: [{ key: 'X-Key', value: 'v' }],
    list: { unsubscribe: { url: 'http://example.com', comment: 'Unsubscribe' } },
    envelope: { from: 'bounce@example.com', to: ['bob@example.com'] },
    dsn: { id: 'abc', return: 'headers', notify: ['failure', 'delay'], recipient: 'x@example.com' },
    priority: 'high',
    date: new Date(),
  },
  (err, info) => {
    if (err) {
      console.error(err.message);
      return;
    }
    const id: string = info.messageId;
    const size: number = info.messageSize;
    const ehlo: string[] | undefined = info.ehlo;
    console.log(id, size, ehlo, info.envelope.from, info.envelope.to.join(','), info.response);
  }
);

async function main(): Promise<void> {
  const info: SMTPSentMessageInfo = await transporter.sendMail({ to: 'x@example.com', text: 'x' });
  const accepted: string[] = info.accepted;
  const rejected: string[] = info.rejected;
  console.log(accepted, rejected, info.envelopeTime, info.messageTime, info.rejectedErrors?.[0]?.recipient);

  // A transporter typed the short way still takes an SMTP transporter.
  const t: Transporter = transporter;
  const anyInfo: SentMessageInfo = await t.sendMail({ to: 'y@example.com', text: 'y' });
  console.log(anyInfo.messageId, anyInfo['ehlo']);

  const stream = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const out: StreamSentMessageInfo = await stream.sendMail({ from: 'a@b.c', to: 'd@e.f', text: 'hi' });
  console.log(Buffer.isBuffer(out.message) ? out.message.toString() : 'stream');

  // URL form and defaults-only
  createTransport('smtps://user%40example.com:pass@smtp.example.com/?pool=true');
  createTransport({ url: 'smtp://localhost:2525', logger: false });
  createTransport({ service: 'Gmail', auth: { user: 'me@gmail.com', pass: 'app-password' } });

  transporter.use('compile', (mail, callback) => {
    if (!mail.data.text) mail.data.text = 'fallback';
    callback();
  });
  transporter.use('stream', (mail, callback) => {
    const { from, to } = mail.message.getEnvelope();
    console.log(from === false ? 'no sender' : from, to.length, mail.message.messageId());
    mail.message.transform(() => new PassThrough());
    mail.message.processFunc((input) => input.pipe(new PassThrough()));
    callback();
  });
  console.log(transporter.getVersionString(), transporter.transporter.name, transporter.options.host);
  transporter.close();
}

const handler = (err: NodemailerError | null): void => void err;
void main().catch(handler);
