// Deep imports from CommonJS under Node's own resolution (module: nodenext): `import = require`.
import nodemailer = require('mailer-rs');
import SMTPTransport = require('mailer-rs/lib/smtp-transport');
import SMTPPool = require('mailer-rs/lib/smtp-pool');
import Mail = require('mailer-rs/lib/mailer');

const options: SMTPTransport.Options = { host: 'localhost', port: 2525 };
const t: Mail<SMTPTransport.SentMessageInfo> = nodemailer.createTransport(new SMTPTransport(options));
const poolOptions: SMTPPool.Options = { ...options, maxConnections: 2 };
const attachment: Mail.Attachment = { filename: 'a.txt', content: 'x' };
t.sendMail({ from: 'a@example.com', to: 'b@example.com', attachments: [attachment] }, (err, info) => {
  if (err) console.error(err.code);
  else console.log(info.response, poolOptions.maxConnections);
});
