// CommonJS forms under Node's own resolution (module: nodenext): `require` through the `exports` map.
import nodemailer = require('mailer-rs');
import type { SendMailOptions } from 'mailer-rs';

const transporter = nodemailer.createTransport({ host: 'localhost', port: 2525, secure: false });
const transporter2 = nodemailer.default.createTransport({ host: 'localhost' });
const message: SendMailOptions = { from: 'a@example.com', to: 'b@example.com', text: 'hi' };
transporter.sendMail(message, (err, info) => {
  if (err) console.error(err.code, err.responseCode, err.command);
  else console.log(info.response, info.accepted.length);
  transporter2.close();
});
