// Bulk sending with a pool, fed on 'idle' (https://nodemailer.com/usage/bulk-mail).
import nodemailer from 'mailer-rs';
import type { SendMailOptions, SMTPPoolSentMessageInfo } from 'mailer-rs';

const transporter = nodemailer.createTransport({
  pool: true,
  host: 'smtp.example.com',
  port: 465,
  secure: true,
  maxConnections: 5,
  maxMessages: Infinity,
  rateDelta: 1000,
  rateLimit: 10,
  auth: { user: 'username', pass: 'password' },
});

const messages: SendMailOptions[] = [];
for (let i = 0; i < 100; i++) messages.push({ from: 'a@example.com', to: `r${i}@example.com`, subject: `#${i}`, text: 'hi' });

const results: Promise<SMTPPoolSentMessageInfo>[] = [];
transporter.on('idle', () => {
  // send next message from the pending queue
  while (transporter.isIdle() && messages.length) {
    results.push(transporter.sendMail(messages.shift()!));
  }
});
transporter.on('clear', () => console.log('all pooled connections closed'));

async function finish(): Promise<number> {
  const infos = await Promise.all(results);
  const accepted: number = infos.reduce((n, info) => n + info.accepted.length, 0);
  console.log('pending', transporter.pendingCount());
  transporter.close();
  return accepted;
}
void finish();

// The options object built separately, typed with nodemailer's names.
const poolOptions: nodemailer.SMTPPoolOptions = { pool: true, host: 'h', maxConnections: 2 };
void poolOptions;
