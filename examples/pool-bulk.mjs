// Bulk sending with a pool (https://nodemailer.com/usage/bulk-mail): pooled connections that
// never retire (`maxMessages: Infinity`), fed from a queue whenever the pool reports 'idle'.
// Run: node examples/pool-bulk.mjs
import nodemailer from 'mailer-rs'; // was: import nodemailer from 'nodemailer'
import { startSmtpServer, CERTS } from '../__test__/helpers/smtp.mjs';

const TOTAL = 50;
const server = await startSmtpServer({ users: { username: 'password' } });
const started = Date.now();
// If the pool never says 'idle', nothing is sent: say so instead of hanging.
const watchdog = setTimeout(() => {
  console.error("no progress after 10 s: did the transporter emit 'idle'? (sent %d of %d)", sent, TOTAL);
  process.exit(1);
}, 10_000);
let sent = 0;

try {
  // --- nodemailer's documentation code; host/port point at the loopback server ---
  const transporter = nodemailer.createTransport({
    pool: true,
    host: 'localhost', // was: "smtp.example.com"
    port: server.port, // was: 465
    secure: false, // was: true (the loopback server does STARTTLS)
    tls: { ca: CERTS.ca },
    maxConnections: 5,
    maxMessages: Infinity,
    auth: {
      user: 'username',
      pass: 'password',
    },
  });

  const messages = [];
  for (let i = 1; i <= TOTAL; i++) {
    messages.push({ from: 'sender@example.com', to: `recipient${i}@example.com`, subject: `Message ${i}`, text: `Hello #${i}` });
  }

  const done = new Promise((resolve, reject) => {
    transporter.on('idle', function () {
      // send next message from the pending queue
      while (transporter.isIdle() && messages.length) {
        transporter.sendMail(messages.shift()).then(
          () => {
            if (++sent === TOTAL) resolve();
          },
          reject
        );
      }
    });
  });
  // ---
  await done;
  const perConnection = [...server.connections.values()];
  console.log('%d messages in %d ms over %d connections (%s messages each)', sent, Date.now() - started, perConnection.length, perConnection.join('/'));
  console.log('logins: %d (one per pooled connection)', server.authAttempts.filter((a) => a.ok).length);
  transporter.close();
} finally {
  clearTimeout(watchdog);
  await server.close();
}
