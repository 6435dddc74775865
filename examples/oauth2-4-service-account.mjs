// nodemailer's OAuth2 example 4, "Set up 2LO authentication": a Google service account. The
// access token has expired, so mailer-rs signs a JWT with the private key and exchanges it.
// A loopback JWT-bearer endpoint (it verifies the signature with the public key) stands in for
// Google's. Run: node examples/oauth2-4-service-account.mjs
import crypto from 'node:crypto';
import nodemailer from 'mailer-rs'; // was: import nodemailer from 'nodemailer'
import { startSmtpServer, CERTS } from '../__test__/helpers/smtp.mjs';
import { startJwtBearerEndpoint } from '../__test__/helpers/oauth.mjs';

// The key pair of the "service account" (the docs read it from the key file's private_key).
const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const endpoint = await startJwtBearerEndpoint({ publicKey, serviceClient: '113600000000000000000', user: 'user@example.com' });
const server = await startSmtpServer({ secure: true, xoauth2: true, validTokens: endpoint.issuedTokens });
try {
  // --- nodemailer's documentation code; host/port/accessUrl point at the loopback servers ---
  let transporter = nodemailer.createTransport({
    host: 'localhost', // was: "smtp.gmail.com"
    port: server.port, // was: 465
    secure: true,
    tls: { ca: CERTS.ca },
    auth: {
      type: 'OAuth2',
      user: 'user@example.com',
      serviceClient: '113600000000000000000',
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }), // was: "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBg..."
      accessToken: 'ya29.Xx_XX0xxxxx-xX0X0XxXXxXxXXXxX0x',
      expires: 1484314697598,
      accessUrl: endpoint.tokenUrl, // default: Google's endpoint
    },
  });
  // ---
  transporter.on('token', (token) => console.log('token event: user=%s expires=%s', token.user, new Date(token.expires).toISOString()));
  const info = await transporter.sendMail({ from: 'user@example.com', to: 'recipient@example.com', subject: 'Message', text: 'I hope this message gets through!' });
  console.log('sent %s: %s', info.messageId, info.response);
  console.log('JWT assertions verified by the endpoint: %d', endpoint.tokenRequests.length);
} finally {
  await server.close();
  await endpoint.close();
}
