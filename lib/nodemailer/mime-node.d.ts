// `mailer-rs/lib/mime-node`: types only (composition happens in the engine; loading this module at
// run time throws). `MimeNode.Envelope` as in nodemailer's lib/mime-node.
import type * as root from '../../index.js';

declare namespace MimeNode {
  type Envelope = root.Envelope;
  type Addresses = { [key in 'from' | 'sender' | 'reply-to' | 'to' | 'cc' | 'bcc']?: root.Address[] | undefined };
}
export = MimeNode;
