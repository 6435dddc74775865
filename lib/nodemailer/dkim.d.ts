// `mailer-rs/lib/dkim`: types only (sign with the `dkim` transport or message option; loading
// this module at run time throws). `DKIM.Options` as in nodemailer's lib/dkim.
import type * as root from '../../index.js';

declare namespace DKIM {
  type Options = root.DKIMOptions;
  type OptionalOptions = Omit<root.DKIMOptions, keyof root.DKIMKey | 'keys'>;
  type SingleKeyOptions = root.DKIMOptions & root.DKIMKey;
  type MultipleKeysOptions = root.DKIMOptions & { keys: root.DKIMKey[] };
  type DKIMOptions = root.DKIMOptions;
  type DKIMKey = root.DKIMKey;
}
export = DKIM;
