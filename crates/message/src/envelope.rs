//! The SMTP envelope (nodemailer lib/mime-node `getEnvelope` and lib/mail-composer's use of
//! the message's `envelope` field): the sender and the deduplicated recipients, from the
//! message's address headers or from the `envelope` the user gave.

use crate::address::{convert_addresses, normalize_address, Mailbox, UniqueMailboxes};
use crate::input::{AddressInput, EnvelopeInput};
use crate::mime_node::{HVal, Node};
use crate::Envelope;

/// The mailboxes of an `envelope` address; a bare word in a name is taken as the address.
fn envelope_addresses(a: &AddressInput) -> Vec<Mailbox> {
    HVal::Addr(a.clone())
        .mailboxes()
        .into_iter()
        .map(|m| {
            if !m.address.is_empty()
                || m.group.is_some()
                || m.name.is_empty()
                || m.name.contains(|c: char| c.is_whitespace() || c == '@')
            {
                m
            } else {
                Mailbox {
                    address: normalize_address(&m.name),
                    name: String::new(),
                    group: None,
                }
            }
        })
        .collect()
}

/// The envelope from the root's From (else Reply-To or Sender) and To, Cc, Bcc headers.
pub(crate) fn get_envelope(root: &Node, forced: Option<char>) -> Envelope {
    let mut from = String::new();
    // one set across To, Cc and Bcc: a recipient is listed once
    let mut recipients = UniqueMailboxes::new();
    for (k, v) in &root.headers {
        if k == "From" || (from.is_empty() && (k == "Reply-To" || k == "Sender")) {
            let mut list = UniqueMailboxes::new();
            convert_addresses(&v.mailboxes(), Some(&mut list), forced);
            if let Some(first) = list.list.first() {
                from = first.address.clone();
            }
        } else if k == "To" || k == "Cc" || k == "Bcc" {
            convert_addresses(&v.mailboxes(), Some(&mut recipients), forced);
        }
    }
    Envelope {
        from,
        to: recipients.list.into_iter().map(|m| m.address).collect(),
        extra: Default::default(),
    }
}

/// The envelope the user gave; its other keys (size, dsn...) are passed through.
pub(crate) fn set_envelope(e: &EnvelopeInput, forced: Option<char>) -> Envelope {
    let mut from = String::new();
    if let Some(f) = &e.from {
        let mut list = UniqueMailboxes::new();
        convert_addresses(&envelope_addresses(f), Some(&mut list), forced);
        if let Some(first) = list.list.iter().find(|m| !m.address.is_empty()) {
            from = first.address.clone();
        }
    }
    let mut recipients = UniqueMailboxes::new();
    for a in [&e.to, &e.cc, &e.bcc].into_iter().flatten() {
        convert_addresses(&envelope_addresses(a), Some(&mut recipients), forced);
    }
    Envelope {
        from,
        to: recipients
            .list
            .into_iter()
            .map(|m| m.address)
            .filter(|a| !a.is_empty())
            .collect(),
        extra: e.extra.clone(),
    }
}
