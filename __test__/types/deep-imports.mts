// Deep imports from an ES module under Node's own resolution (module: nodenext), through the `exports` map.
import nodemailer from 'mailer-rs';
import SMTPTransport from 'mailer-rs/lib/smtp-transport';
import SMTPPool from 'mailer-rs/lib/smtp-pool';
import Mail from 'mailer-rs/lib/mailer';
import type XOAuth2 from 'mailer-rs/lib/xoauth2';

const options: SMTPTransport.Options = { host: 'localhost', port: 2525 };
const oauth: XOAuth2.Options = { user: 'u', accessToken: 't' };
const t: Mail<SMTPTransport.SentMessageInfo> = nodemailer.createTransport({ ...options, auth: { type: 'OAuth2', ...oauth } });
const p = nodemailer.createTransport(new SMTPPool({ ...options, maxConnections: 2 }));
const message: Mail.Options = { from: 'a@example.com', to: 'b@example.com', text: 'hi' };
const info: SMTPTransport.SentMessageInfo = await t.sendMail(message);
const poolInfo: SMTPPool.SentMessageInfo = await p.sendMail(message);
console.log(info.messageId, poolInfo.envelope, t instanceof Mail, new SMTPTransport(options).name);
