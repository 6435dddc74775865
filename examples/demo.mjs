// `npm run demo`: the main job on embedded loopback servers.
//  1. a message over STARTTLS with AUTH PLAIN to smtp-server: the `info` object and what the server saw;
//  2. OAuth2 3-legged: a stale access token, refreshed at oauth2-mock-server, `token` event, send;
//  3. OAuth2 2-legged: a Google-style service account, JWT-bearer grant verified with its public key.
// Only the `require`/`import` line differs from a nodemailer program.
import crypto from 'node:crypto';
import nodemailer from '../index.mjs';
import { startSmtpServer, CERTS } from '../__test__/helpers/smtp.mjs';
import { startMockOAuth, startJwtBearerEndpoint } from '../__test__/helpers/oauth.mjs';

const line = (title) => console.log(`\n=== ${title} ${'='.repeat(Math.max(0, 70 - title.length))}`);

async function plainAuth() {
  line('1. STARTTLS + AUTH PLAIN');
  const server = await startSmtpServer({ users: { alice: 'wonderland' } });
  try {
    const transporter = nodemailer.createTransport({
      host: 'localhost',
      port: server.port,
      auth: { user: 'alice', pass: 'wonderland' },
      tls: { ca: CERTS.ca }, // the demo server's certificate is signed by the test CA
    });
    const info = await transporter.sendMail({
      from: '"Alice" <alice@example.com>',
      to: 'Bob <bob@example.com>, carol@example.com',
      subject: 'Hello from mailer-rs ✔',
      text: 'Hello world?',
      html: '<b>Hello world?</b>',
    });
    console.log('info:', info);
    const seen = server.messages[0];
    console.log('server saw: user=%s, MAIL FROM=%s, RCPT TO=%s, %d bytes', seen.user, seen.envelope.mailFrom.address,
      seen.envelope.rcptTo.map((r) => r.address).join(', '), seen.raw.length);
    console.log('message headers as received:\n' + seen.raw.toString().split('\r\n\r\n')[0].split('\r\n').map((l) => '  ' + l).join('\n'));
  } finally {
    await server.close();
  }
}

async function threeLegged() {
  line('2. OAuth2 3LO: refresh token');
  const oauth = await startMockOAuth();
  const server = await startSmtpServer({ xoauth2: true, validTokens: oauth.issuedTokens });
  try {
    const transporter = nodemailer.createTransport({
      host: 'localhost',
      port: server.port,
      tls: { ca: CERTS.ca },
      auth: {
        type: 'OAuth2',
        user: 'user@example.com',
        clientId: '000000000000-xxx0.apps.googleusercontent.com',
        clientSecret: 'XxxxxXXxX0xxxxxxxx0XXxX0',
        refreshToken: '1/XXxXxsss-xxxXXXXXxXxx0XXXxxXXx0x00xxx',
        accessToken: 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x',
        expires: 1484314697598, // long expired: a refresh happens before sending
        accessUrl: oauth.tokenUrl,
      },
    });
    transporter.on('token', (token) => {
      console.log('token event: user=%s accessToken=%s… expires=%s', token.user, token.accessToken.slice(0, 12), new Date(token.expires).toISOString());
    });
    const info = await transporter.sendMail({ from: 'user@example.com', to: 'recipient@example.com', subject: 'Message', text: 'I hope this message gets through!' });
    console.log('sent: %s (%s); token requests: %d; server authenticated %s', info.messageId, info.response, oauth.tokenRequests.length, server.messages[0].user);
  } finally {
    await server.close();
    await oauth.close();
  }
}

async function twoLegged() {
  line('3. OAuth2 2LO: service account');
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serviceClient = '113600000000000000000';
  const endpoint = await startJwtBearerEndpoint({ publicKey, serviceClient, user: 'user@example.com' });
  const server = await startSmtpServer({ xoauth2: true, validTokens: endpoint.issuedTokens });
  try {
    const transporter = nodemailer.createTransport({
      host: 'localhost',
      port: server.port,
      tls: { ca: CERTS.ca },
      auth: {
        type: 'OAuth2',
        user: 'user@example.com',
        serviceClient,
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        accessUrl: endpoint.tokenUrl,
      },
    });
    transporter.on('token', (token) => {
      console.log('token event: user=%s accessToken=%s… expires=%s', token.user, token.accessToken.slice(0, 12), new Date(token.expires).toISOString());
    });
    const info = await transporter.sendMail({ from: 'user@example.com', to: 'recipient@example.com', subject: 'Service account', text: 'Sent with a JWT-bearer token' });
    console.log('sent: %s (%s); JWT assertions verified by the endpoint: %d', info.messageId, info.response, endpoint.tokenRequests.length);
  } finally {
    await server.close();
    await endpoint.close();
  }
}

await plainAuth();
await threeLegged();
await twoLegged();
console.log('\nDone.');
