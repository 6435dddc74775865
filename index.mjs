// ESM entry: `import mailer from 'mailer-rs'` and `import { createTransport } from 'mailer-rs'`.
import cjs from './index.js';

export const createTransport = cjs.createTransport;
export const getTestMessageUrl = cjs.getTestMessageUrl;
export const createTestAccount = cjs.createTestAccount;
export default cjs;
