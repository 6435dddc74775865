// `mailer-rs/lib/xoauth2`: types only (mailer-rs manages tokens itself; loading this module at
// run time throws). `XOAuth2.Options`, `XOAuth2.Token` as in nodemailer's lib/xoauth2.
import type * as root from '../../index.js';

declare namespace XOAuth2 {
  type Options = root.XOAuth2Options;
  type Token = root.XOAuth2Token;
  type ProvisionCallback = root.XOAuth2ProvisionCallback;
  type XOAuth2Options = root.XOAuth2Options;
  type XOAuth2ProvisionCallback = root.XOAuth2ProvisionCallback;
}
export = XOAuth2;
