// A plain send, nodemailer's "Example" from its front page: STARTTLS, AUTH with a password,
// text + HTML. Run: node examples/smtp-plain.mjs
import nodemailer from 'mailer-rs'; // was: import nodemailer from 'nodemailer'
import { startSmtpServer, CERTS } from '../__test__/helpers/smtp.mjs';

const server = await startSmtpServer({ users: { 'maddison53@ethereal.email': 'jn7jnAPss4f63QBp6D' } });
try {
  // --- nodemailer's documentation code; host/port point at the loopback server ---
  const transporter = nodemailer.createTransport({
    host: 'localhost', // was: "smtp.ethereal.email"
    port: server.port, // was: 587
    secure: false, // upgrade later with STARTTLS
    tls: { ca: CERTS.ca }, // the loopback server's certificate is signed by the test CA
    auth: {
      user: 'maddison53@ethereal.email',
      pass: 'jn7jnAPss4f63QBp6D',
    },
  });

  // verify connection configuration
  await transporter.verify();
  console.log('Server is ready to take our messages');

  const info = await transporter.sendMail({
    from: '"Maddison Foo Koch" <maddison53@ethereal.email>', // sender address
    to: 'bar@example.com, baz@example.com', // list of receivers
    subject: 'Hello ✔', // Subject line
    text: 'Hello world?', // plain text body
    html: '<b>Hello world?</b>', // html body
  });
  console.log('Message sent: %s', info.messageId);
  // ---
  console.log('accepted=%j rejected=%j response=%s size=%d bytes', info.accepted, info.rejected, info.response, info.messageSize);
  const seen = server.messages[0];
  console.log('server saw: user=%s secure=%s MAIL FROM=%s RCPT TO=%s', seen.user, seen.secure, seen.envelope.mailFrom.address, seen.envelope.rcptTo.map((r) => r.address).join(', '));

  // Error handling reads nodemailer's fields.
  try {
    await nodemailer.createTransport({ host: 'localhost', port: server.port, tls: { ca: CERTS.ca }, auth: { user: 'maddison53@ethereal.email', pass: 'wrong' } }).sendMail({ from: 'a@example.com', to: 'b@example.com', text: 'x' });
  } catch (err) {
    console.log('wrong password: code=%s command=%s responseCode=%d', err.code, err.command, err.responseCode);
  }
} finally {
  await server.close();
}
