/// <reference types="node" />
// Public types of mailer-rs: nodemailer's createTransport / transporter surface.
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';

export type AddressObject = { name?: string; address: string };
export type Address = string | AddressObject | { name: string; group: Array<string | AddressObject> };
export type AddressList = Address | Array<Address>;

export interface TlsOptions {
  rejectUnauthorized?: boolean;
  ca?: string | Buffer | Array<string | Buffer>;
  servername?: string;
  minVersion?: 'TLSv1.2' | 'TLSv1.3' | string;
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  [key: string]: unknown;
}

/** `(user, renew, callback(err, accessToken, expires))`; may also return a Promise of the token. */
export type ProvisionCallback = (
  user: string,
  renew: boolean,
  callback: (err: Error | null, accessToken?: string, expires?: number) => void
) => void | Promise<string | { accessToken: string; expires?: number } | void>;

export interface OAuth2Options {
  type: 'OAuth2' | 'oauth2' | 'OAUTH2';
  user?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  accessToken?: string;
  /** Absolute expiry time of `accessToken`, ms since the epoch. */
  expires?: number;
  /** Lifetime of `accessToken` in seconds, when `expires` is not known. */
  timeout?: number;
  /** Token endpoint; default `https://accounts.google.com/o/oauth2/token`. */
  accessUrl?: string;
  serviceClient?: string;
  privateKey?: string | { key: string; passphrase: string };
  /** Service-account scope; default `https://mail.google.com/`. */
  scope?: string;
  serviceRequestTimeout?: number;
  customHeaders?: Record<string, string>;
  customParams?: Record<string, string>;
  /** Token request timeout in ms (default 30000). */
  requestTimeout?: number;
  provisionCallback?: ProvisionCallback;
  tls?: TlsOptions;
  method?: string;
}

export interface LoginOptions {
  type?: 'login' | 'LOGIN' | string;
  user?: string;
  pass?: string;
  method?: 'PLAIN' | 'LOGIN' | 'CRAM-MD5' | 'XOAUTH2' | string;
}

export type AuthOptions = LoginOptions | OAuth2Options;

export interface Logger {
  trace?(entry: object, format: string, ...args: unknown[]): void;
  debug?(entry: object, format: string, ...args: unknown[]): void;
  info?(entry: object, format: string, ...args: unknown[]): void;
  warn?(entry: object, format: string, ...args: unknown[]): void;
  error?(entry: object, format: string, ...args: unknown[]): void;
  fatal?(entry: object, format: string, ...args: unknown[]): void;
}

export interface SMTPTransportOptions {
  host?: string;
  port?: number;
  secure?: boolean;
  service?: string;
  url?: string;
  auth?: AuthOptions;
  authMethod?: string;
  tls?: TlsOptions;
  servername?: string;
  ignoreTLS?: boolean;
  requireTLS?: boolean;
  opportunisticTLS?: boolean;
  name?: string;
  localAddress?: string;
  connectionTimeout?: number;
  greetingTimeout?: number;
  socketTimeout?: number;
  dnsTimeout?: number;
  logger?: boolean | Logger;
  debug?: boolean;
  transactionLog?: boolean;
  component?: string;
  lmtp?: boolean;
  forceAuth?: boolean;
  pool?: boolean;
  maxConnections?: number;
  maxMessages?: number;
  rateDelta?: number;
  rateLimit?: number;
  disableFileAccess?: boolean;
  disableUrlAccess?: boolean;
  [key: string]: unknown;
}

export interface Attachment {
  filename?: string | false;
  content?: string | Buffer | Readable;
  path?: string;
  href?: string;
  encoding?: string;
  contentType?: string;
  contentDisposition?: 'attachment' | 'inline' | string;
  contentTransferEncoding?: string | false;
  cid?: string;
  headers?: Headers;
  raw?: string | Buffer | Readable;
}

export type HeaderValue = string | string[] | { prepared: boolean; value: string };
export type Headers = Record<string, HeaderValue> | Array<{ key: string; value: string }>;

export interface Envelope {
  from?: string | false;
  to?: AddressList;
  cc?: AddressList;
  bcc?: AddressList;
  size?: number;
  use8BitMime?: boolean;
  [key: string]: unknown;
}

export interface DSNOptions {
  id?: string;
  return?: 'headers' | 'full' | string;
  notify?: string | string[];
  recipient?: string;
}

export interface SendMailOptions {
  from?: Address;
  sender?: Address;
  to?: AddressList;
  cc?: AddressList;
  bcc?: AddressList;
  replyTo?: AddressList;
  inReplyTo?: string;
  references?: string | string[];
  subject?: string;
  text?: string | Buffer | Readable | Attachment;
  html?: string | Buffer | Readable | Attachment;
  watchHtml?: string | Buffer | Readable | Attachment;
  amp?: string | Buffer | Readable | Attachment;
  icalEvent?: string | Buffer | Readable | Attachment & { method?: string };
  attachments?: Attachment[];
  alternatives?: Attachment[];
  headers?: Headers;
  list?: Record<string, unknown>;
  envelope?: Envelope;
  messageId?: string;
  date?: Date | string;
  encoding?: string;
  textEncoding?: 'quoted-printable' | 'base64';
  priority?: 'high' | 'normal' | 'low';
  raw?: string | Buffer | Readable | Attachment;
  dsn?: DSNOptions;
  auth?: Partial<OAuth2Options> | LoginOptions;
  xMailer?: string | false;
  disableFileAccess?: boolean;
  disableUrlAccess?: boolean;
  attachDataUrls?: boolean;
  [key: string]: unknown;
}

/** nodemailer's error: an `Error` with the SMTP context. */
export interface MailerError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  recipient?: string;
  rejected?: string[];
  rejectedErrors?: MailerError[];
}

export interface SentMessageInfo {
  accepted: string[];
  rejected: string[];
  rejectedErrors?: MailerError[];
  ehlo?: string[];
  envelopeTime: number;
  messageTime: number;
  messageSize: number;
  response: string;
  envelope: { from: string | false; to: string[] };
  messageId: string;
}

export interface TokenEvent {
  user: string;
  accessToken: string;
  /** Absolute expiry, ms since the epoch (0 when unknown). */
  expires: number;
}

export interface Transporter extends EventEmitter {
  options: SMTPTransportOptions;
  transporter: { name: string; version: string; options: SMTPTransportOptions };
  sendMail(mail: SendMailOptions): Promise<SentMessageInfo>;
  sendMail(mail: SendMailOptions, callback: (err: MailerError | null, info: SentMessageInfo) => void): void;
  verify(): Promise<true>;
  verify(callback: (err: MailerError | null, success: true) => void): void;
  close(): void;
  isIdle(): boolean;
  pendingCount(): number;
  set(key: 'oauth2_provision_cb', value: ProvisionCallback): Map<string, unknown>;
  set(key: string, value: unknown): Map<string, unknown>;
  get(key: string): unknown;
  use(step: 'compile' | 'stream', plugin: (mail: { data: SendMailOptions }, done: (err?: Error | null) => void) => void): this;
  getVersionString(): string;
  on(event: 'token', listener: (token: TokenEvent) => void): this;
  on(event: 'idle', listener: () => void): this;
  on(event: 'error', listener: (err: MailerError) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export function createTransport(options?: SMTPTransportOptions | string, defaults?: SendMailOptions): Transporter;

declare const mailer: { createTransport: typeof createTransport };
export default mailer;
