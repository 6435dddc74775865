// nodemailer's deep type imports, as real code writes them, with only the module name changed
// (was: 'nodemailer/lib/smtp-transport', 'nodemailer/lib/mailer', …).
import nodemailer from 'mailer-rs';
import SMTPTransport from 'mailer-rs/lib/smtp-transport';
import SMTPPool from 'mailer-rs/lib/smtp-pool';
import Mail from 'mailer-rs/lib/mailer';
import StreamTransport from 'mailer-rs/lib/stream-transport';
import JSONTransport from 'mailer-rs/lib/json-transport';
import wellKnown from 'mailer-rs/lib/well-known';
import type XOAuth2 from 'mailer-rs/lib/xoauth2';
import type DKIM from 'mailer-rs/lib/dkim';
import type SMTPConnection from 'mailer-rs/lib/smtp-connection';
import type MimeNode from 'mailer-rs/lib/mime-node';
import type addressparser from 'mailer-rs/lib/addressparser';
import type { Logger, LoggerLevel } from 'mailer-rs/lib/shared';
import type { SMTPTransportOptions, SMTPSentMessageInfo } from 'mailer-rs/lib/smtp-transport';
import type { Options as PoolOptions } from 'mailer-rs/lib/smtp-pool';
import type { Attachment, SendMailOptions } from 'mailer-rs/lib/mailer';

const smtpConfig: SMTPTransport.Options = {
  host: 'smtp.example.com',
  port: 587,
  secure: false,
  auth: { user: 'user', pass: 'pass' },
  tls: { rejectUnauthorized: true },
};
const poolConfig: SMTPPool.Options = { ...smtpConfig, pool: true, maxConnections: 3, maxMessages: 50, rateLimit: 10 };
const oauth: XOAuth2.Options = { user: 'u@example.com', clientId: 'id', clientSecret: 's', refreshToken: 'r' };
const token: XOAuth2.Token | undefined = undefined;
const dkim: DKIM.Options = { domainName: 'example.com', keySelector: 'sel', privateKey: '-----BEGIN PRIVATE KEY-----' };
const connOptions: SMTPConnection.Options = { host: 'h', port: 25, connectionTimeout: 1000 };
const authLogin: SMTPTransport.AuthenticationType = { user: 'u', pass: 'p' };
const logger: Logger = { info: () => undefined };
const level: LoggerLevel = 'debug';
const parsed: addressparser.Address = { name: 'A', address: 'a@example.com' };
const namedOptions: SMTPTransportOptions = smtpConfig;
const namedPool: PoolOptions = poolConfig;

// The transporter typed the @types/nodemailer way.
const transporter: Mail<SMTPTransport.SentMessageInfo> = nodemailer.createTransport(smtpConfig);
const transporter2: nodemailer.Transporter<SMTPTransport.SentMessageInfo, SMTPTransport.Options> =
  nodemailer.createTransport(new SMTPTransport(smtpConfig));
const pool: Mail<SMTPPool.SentMessageInfo, SMTPPool.Options> = nodemailer.createTransport(new SMTPPool(poolConfig));
const pool2 = nodemailer.createTransport(new SMTPPool('smtps://u:p@smtp.example.com'));
const isPool: SMTPPool.SentMessageInfo extends SMTPSentMessageInfo ? true : false = true;
const stream = nodemailer.createTransport(new StreamTransport({ buffer: true }));
const json = nodemailer.createTransport(new JSONTransport({}));
const gmail = wellKnown('Gmail');
const gmailHost: string | undefined = gmail ? gmail.host : undefined;

const attachment: Mail.Attachment = { filename: 'report.pdf', path: '/tmp/report.pdf', contentType: 'application/pdf' };
const inline: Attachment = { filename: 'logo.png', content: Buffer.from(''), cid: 'logo@example.com' };
const mail: Mail.Options = {
  from: { name: 'Sender', address: 'sender@example.com' } satisfies Mail.Address,
  to: ['a@example.com', 'B <b@example.com>'],
  subject: 'Report',
  html: '<img src="cid:logo@example.com">',
  attachments: [attachment, inline],
  headers: { 'X-Campaign': 'q3' } satisfies Mail.Headers,
  list: { unsubscribe: 'https://example.com/u' },
  dkim,
};
const mail2: SendMailOptions = mail;
const mail3: SMTPTransport.MailOptions = mail2;

async function send(): Promise<SMTPTransport.SentMessageInfo> {
  const info = await transporter.sendMail(mail);
  const accepted: string[] = info.accepted;
  const envelope: MimeNode.Envelope = info.envelope;
  console.log(accepted, envelope.to, info.messageId, info.response);
  const poolInfo: SMTPPool.SentMessageInfo = await pool.sendMail(mail3);
  const streamInfo: StreamTransport.SentMessageInfo = await stream.sendMail(mail);
  const jsonInfo: JSONTransport.SentMessageInfo = await json.sendMail(mail);
  console.log(poolInfo.messageTime, streamInfo.message, jsonInfo.message.length, transporter2 instanceof Mail);
  return info;
}

function onError(err: SMTPConnection.SMTPError): string | undefined {
  return err.response;
}

export { oauth, token, connOptions, authLogin, logger, level, parsed, namedOptions, namedPool, pool2, isPool, gmailHost, send, onError };
