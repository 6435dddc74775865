//! The mail composer (nodemailer lib/mail-composer `MailComposer.compile`, plus the header steps
//! of lib/mailer/index.js): message fields → MIME tree, envelope and Message-ID.
//!
//! The steps, in nodemailer's order (which decides header order and which error wins):
//! 1. `attachDataUrls` turns data-URL images of the html into cid attachments (data_url.rs);
//! 2. the parts: alternatives and attachments with their types and names (parts.rs);
//! 3. the tree: mixed / alternative / related around them, or the `raw` message (tree.rs);
//! 4. the root headers from the message fields, the envelope (envelope.rs), the Message-ID;
//! 5. X-Mailer, priority and `List-*` headers (list_headers.rs).
//!
//! The tree is written out later, by [`Composed::into_compiled`] (mime_node.rs, headers.rs).

use crate::address::convert_addresses;
use crate::content::Resolver;
use crate::data_images::convert_data_images;
use crate::envelope::{get_envelope, set_envelope};
use crate::ids;
use crate::input::{AddressInput, DateInput, MailData, StringOrList};
use crate::js_number::js_number_string;
use crate::list_headers::list_headers;
use crate::mime_node::{HVal, Node, Writer};
use crate::tree::TreeBuilder;
use crate::{Compiled, ComposeError, ComposeOptions, Envelope, MessageBody};

/// A composed message: its MIME tree, not yet written out.
pub(crate) struct Composed {
    root: Node,
    pub envelope: Envelope,
    pub message_id: String,
    writer: Writer,
}

/// Composes `data` (steps in the module doc). Files and URLs are not opened here, only checked
/// against the access flags.
pub(crate) fn compose(
    mut data: MailData,
    buffers: &[bytes::Bytes],
    opts: &ComposeOptions,
) -> Result<Composed, ComposeError> {
    let header_key_map = data.header_key_map.take();
    let disable_file = opts.disable_file_access || data.disable_file_access.unwrap_or(false);
    // the transport's attachDataUrls reaches here as the message's flag (set by the JS layer)
    if data.attach_data_urls.unwrap_or(false) {
        convert_data_images(&mut data, buffers, disable_file)?;
    }
    let text_encoding = data
        .text_encoding
        .as_deref()
        .and_then(|t| t.trim().chars().next())
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| *c == 'Q' || *c == 'B');
    let mut builder = TreeBuilder {
        res: Resolver {
            buffers,
            disable_file,
            disable_url: opts.disable_url_access || data.disable_url_access.unwrap_or(false),
        },
        mail_encoding: data.encoding.clone().filter(|e| !e.is_empty()),
        counter: 0,
    };
    let parts = builder.res.parts(&data)?;
    let boundary_base = ids::boundary_base(
        data.boundary_prefix.as_deref(),
        data.base_boundary.as_deref(),
    );
    let mut root = match &data.raw {
        Some(raw) => builder.raw_root(raw)?,
        None => builder.tree(&parts)?,
    };
    set_field_headers(&mut root, &data);
    let envelope = match &data.envelope {
        Some(e) => set_envelope(e, text_encoding),
        None => get_envelope(&root, text_encoding),
    };
    let message_id = match root.get_header("Message-ID") {
        Some(HVal::Text(s)) if !s.is_empty() => s.clone(),
        _ => {
            let from = match &opts.hostname {
                _ if !envelope.from.is_empty() => &envelope.from,
                Some(h) if !h.is_empty() => h,
                _ => "localhost",
            };
            let id = ids::message_id(from);
            root.set_header("Message-ID", HVal::Text(id.clone()));
            id
        }
    };
    set_mailer_headers(&mut root, &data);
    Ok(Composed {
        root,
        envelope,
        message_id,
        writer: Writer {
            text_encoding,
            keep_bcc: opts.keep_bcc,
            raw_as_is: opts.raw_as_is,
            boundary_base,
            header_key_map,
            eight_bit: Default::default(),
        },
    })
}

/// The root headers from the message fields (lib/mail-composer `compile`): the user's
/// `headers` first, then From..Date set over them (a field replaces a same-named header in
/// place).
fn set_field_headers(root: &mut Node, data: &MailData) {
    if let Some(h) = &data.headers {
        root.add_headers(h);
    }
    let addr = |a: &Option<AddressInput>| a.clone().filter(address_truthy).map(HVal::Addr);
    let non_empty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let fields: [(&str, Option<HVal>); 11] = [
        ("from", addr(&data.from)),
        ("sender", addr(&data.sender)),
        ("to", addr(&data.to)),
        ("cc", addr(&data.cc)),
        ("bcc", addr(&data.bcc)),
        ("reply-to", addr(&data.reply_to)),
        ("in-reply-to", non_empty(&data.in_reply_to).map(HVal::Text)),
        (
            "references",
            match &data.references {
                Some(StringOrList::One(s)) if !s.is_empty() => Some(HVal::Refs(vec![s.clone()])),
                Some(StringOrList::Many(l)) => Some(HVal::Refs(l.clone())),
                _ => None,
            },
        ),
        ("subject", non_empty(&data.subject).map(HVal::Text)),
        ("message-id", non_empty(&data.message_id).map(HVal::Text)),
        (
            "date",
            match &data.date {
                Some(DateInput::Text(s)) if !s.is_empty() => Some(HVal::Text(s.clone())),
                Some(DateInput::Millis(ms)) => Some(HVal::DateMs(*ms)),
                _ => None,
            },
        ),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            root.set_header(k, v);
        }
    }
}

/// What lib/mailer/index.js adds before composing: X-Mailer, the priority headers and the
/// `List-*` headers.
fn set_mailer_headers(root: &mut Node, data: &MailData) {
    if let Some(x) = &data.x_mailer {
        let v = match x {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => n.as_f64().map(js_number_string),
            serde_json::Value::Bool(true) => Some("true".into()),
            _ => None,
        };
        if let Some(v) = v {
            root.set_header("X-Mailer", HVal::Text(v));
        }
    }
    match data.priority.as_deref().map(str::to_lowercase).as_deref() {
        Some("high") => {
            root.set_header("X-Priority", HVal::Text("1 (Highest)".into()));
            root.set_header("X-MSMail-Priority", HVal::Text("High".into()));
            root.set_header("Importance", HVal::Text("High".into()));
        }
        Some("low") => {
            root.set_header("X-Priority", HVal::Text("5 (Lowest)".into()));
            root.set_header("X-MSMail-Priority", HVal::Text("Low".into()));
            root.set_header("Importance", HVal::Text("Low".into()));
        }
        _ => {}
    }
    if let Some(list) = &data.list {
        for (key, values) in list_headers(list) {
            for v in values {
                root.add_header(
                    &key,
                    HVal::Object {
                        value: v,
                        prepared: true,
                        fold: true,
                    },
                );
            }
        }
    }
}

fn address_truthy(a: &AddressInput) -> bool {
    match a {
        AddressInput::Text(s) => !s.is_empty(),
        _ => true,
    }
}

impl Composed {
    /// The From header's addresses as a fresh MimeNode formats them (no forced text encoding),
    /// or None when there is no From header or it holds no address.
    pub(crate) fn sender_header(&self) -> Option<String> {
        let (_, v) = self.root.headers.iter().find(|(k, _)| k == "From")?;
        let s = convert_addresses(&v.mailboxes(), None, None);
        (!s.is_empty()).then_some(s)
    }

    /// The message written out: envelope, Message-ID and body segments (marked 8-bit when a
    /// raw message holds 8-bit bytes with no 7-bit form).
    pub(crate) fn into_compiled(mut self) -> Compiled {
        let mut segments = Vec::new();
        self.writer.serialize(&mut self.root, true, &mut segments);
        Compiled {
            envelope: self.envelope,
            message_id: self.message_id,
            body: MessageBody::new(segments).with_eight_bit(self.writer.eight_bit.get()),
        }
    }
}
