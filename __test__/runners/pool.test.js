'use strict';
// A pooled transport shared by the tests of this file, closed in afterAll: the pool's
// connections and native callbacks must not outlive close() (jest --detectOpenHandles).
const nodemailer = require('../../index.js');
const { startSmtp } = require('./support/peers');

let smtp;
let pool;

beforeAll(async () => {
  smtp = await startSmtp();
});

// Made synchronously in a hook of its own: jest --detectOpenHandles follows the async resources
// that code run from a hook or test creates directly, not those made after an await.
beforeAll(() => {
  pool = nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, pool: true, maxConnections: 2 });
});

afterAll(async () => {
  pool.close();
  await smtp.close();
});

describe('pooled transport', () => {
  test('a burst of sends resolves with infos of this realm', async () => {
    const infos = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pool.sendMail({ from: 'pool@example.com', to: `r${i}@example.com`, subject: `n${i}`, text: 'pooled' }))
    );
    infos.forEach((info, i) => {
      expect(info.accepted).toBeInstanceOf(Array);
      expect(info.envelope.to).toBeInstanceOf(Array);
      expect(info.accepted).toEqual([`r${i}@example.com`]);
      expect(info.rejected).toEqual([]);
      expect(info.envelope).toEqual({ from: 'pool@example.com', to: [`r${i}@example.com`] });
    });
    expect(smtp.messages).toHaveLength(20);
  });

  test('a rejected send in the pool is an Error of this realm', async () => {
    const err = await pool.sendMail({ from: 'pool@example.com', to: 'reject-me@example.com', text: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'EENVELOPE', rejected: ['reject-me@example.com'] });
    expect(err.rejected).toBeInstanceOf(Array);
  });

  test('isIdle and verify answer plain values', async () => {
    await expect(pool.verify()).resolves.toBe(true);
    expect(typeof pool.isIdle()).toBe('boolean');
  });
});
