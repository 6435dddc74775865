// ESM import forms under Node's own resolution (module: nodenext), through the `exports` map.
import nodemailer from 'mailer-rs';
import { createTransport } from 'mailer-rs';
import * as ns from 'mailer-rs';
import type { Transporter, SMTPSentMessageInfo } from 'mailer-rs';

const a: Transporter<SMTPSentMessageInfo> = nodemailer.createTransport({ host: 'localhost', port: 2525 });
const b = createTransport({ host: 'localhost', port: 2525 });
const c = ns.createTransport({ host: 'localhost' });
const info: SMTPSentMessageInfo = await b.sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'hi' });
console.log(info.messageId, a === b, c.isIdle());
