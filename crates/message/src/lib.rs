//! Message composition for mailer-rs: what nodemailer's `Mail` + `MailComposer` + `MimeNode`
//! do, producing the same bytes (apart from random boundaries, Message-IDs and the date).
//!
//! How a message travels: `MailData` (input.rs, read from the JS object) → [`compile`] →
//! the mail composer (compose.rs: parts.rs → tree.rs, then the root headers, envelope.rs,
//! ids.rs) → a tree of `mime_node::Node`s → written out (mime_node.rs, headers.rs) as
//! [`MessageBody`] segments that encode files, URLs and large buffers while they stream
//! (body.rs, fetch.rs) → optionally DKIM-signed (dkim.rs). The JSON transport (json/) reads the
//! same `MailData` from its key-ordered tree and echoes the normalised fields instead.
//!
//! Where things go:
//! - a new message field: input.rs (`MailData`), then parts.rs if it is content, or
//!   compose.rs (`set_field_headers` / `set_mailer_headers`) if it is a header;
//! - how a header value is written: headers.rs (List-* in list_headers.rs, dates in dates.rs);
//! - where content comes from (path, href, Buffer, data: URL): content.rs, data_url.rs
//!   (`attachDataUrls`: data_images.rs); JS numbers as text: js_number.rs;
//! - multipart layout: tree.rs; transfer encodings and body segments: mime_node.rs, body.rs;
//! - MIME word/parameter encoders, address parsing: encoding.rs, address.rs (hand-written to
//!   match nodemailer's bytes; see their module docs).

use bytes::Bytes;

mod address;
mod body;
mod compose;
mod content;
mod data_images;
mod data_url;
mod dates;
pub mod dkim;
mod encoding;
mod envelope;
mod fetch;
mod headers;
mod ids;
mod input;
mod js_number;
mod json;
mod list_headers;
mod mime_node;
mod mime_types;
mod newline;
mod parts;
mod tree;

pub use address::{parse_address_list, Mailbox};
pub use body::MessageBody;
pub use dkim::{DkimKey, DkimOptions};
pub use encoding::{base64_decode_lenient, normalize_header_key};
pub use fetch::{io_error_code, post as http_post, FetchError, UrlRequest};
pub use input::{
    AddressInput, Attachment, ContentInput, ContentObject, DateInput, EnvelopeInput, FilenameInput,
    HeaderEntry, HeaderValueInput, HeadersInput, HttpHeaderValue, HttpHeaders, MailData, OneOrMany,
    OrderedMap, StringOrList, TlsInput,
};
pub use json::{normalize_json, Json, JsonMessage};
pub use newline::{LineEndings, Newline};

/// Options that come from the transport rather than the message.
#[derive(Debug, Clone, Default)]
pub struct ComposeOptions {
    /// used for the generated Message-ID when there is no envelope sender
    pub hostname: Option<String>,
    /// write the Bcc header (stream/JSON transports do, SMTP does not)
    pub keep_bcc: bool,
    pub disable_file_access: bool,
    pub disable_url_access: bool,
    /// write a `raw` message's bytes unchanged (the stream transport does, as nodemailer's
    /// lib/stream-transport; SMTP needs CRLF and normalises line breaks)
    pub raw_as_is: bool,
}

/// SMTP envelope. `from` is empty when there is no sender (nodemailer's `false`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    pub from: String,
    pub to: Vec<String>,
    /// other keys of a user-supplied `envelope` (size, use8BitMime, dsn...), passed through
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A composed message.
#[derive(Debug)]
pub struct Compiled {
    pub envelope: Envelope,
    /// as nodemailer's `info.messageId`: a generated id with `<>`, a user id as given
    pub message_id: String,
    pub body: MessageBody,
}

/// Composition error with nodemailer's `code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ComposeError {
    /// "EFILEACCESS" | "EURLACCESS" | "EMESSAGE" | "ESTREAM" | "EENVELOPE"
    pub code: &'static str,
    pub message: String,
}

impl ComposeError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        ComposeError {
            code,
            message: message.into(),
        }
    }

    /// `disableFileAccess` refused a `path`.
    pub(crate) fn file_access_rejected(path: &str) -> Self {
        Self::new("EFILEACCESS", format!("File access rejected for {path}"))
    }

    /// `disableUrlAccess` refused an `href` (credentials in the URL are not shown).
    pub(crate) fn url_access_rejected(url: &str) -> Self {
        let url = fetch::redact_url(url);
        Self::new("EURLACCESS", format!("Url access rejected for {url}"))
    }

    /// `{"$bufferIndex": n}` with no n-th Buffer.
    pub(crate) fn missing_buffer(index: usize) -> Self {
        Self::new(
            "EMESSAGE",
            format!("Buffer {index} was not passed to the composer"),
        )
    }
}

/// Builds the message. `buffers` are the out-of-band JS Buffers referenced by
/// `{"$bufferIndex": n}` in `data`; they are shared, not copied (the binding wraps the JS
/// Buffers with `Bytes::from_owner`), and large ones are encoded only while the body streams.
pub fn compile(
    data: MailData,
    buffers: Vec<Bytes>,
    opts: &ComposeOptions,
) -> Result<Compiled, ComposeError> {
    Ok(compose_checked(data, &buffers, opts)?.into_compiled())
}

/// [`compile`], plus the From header's addresses formatted as nodemailer's SES transport sends
/// them as `FromEmailAddress` (lib/ses-transport/index.js); None without a From header.
pub fn compile_with_from(
    data: MailData,
    buffers: Vec<Bytes>,
    opts: &ComposeOptions,
) -> Result<(Compiled, Option<String>), ComposeError> {
    let composed = compose::compose(data, &buffers, opts)?;
    let from = composed.sender_header();
    Ok((composed.into_compiled(), from))
}

/// The MIME tree, with the message's `maxRecipients` checked against its envelope.
pub(crate) fn compose_checked(
    data: MailData,
    buffers: &[Bytes],
    opts: &ComposeOptions,
) -> Result<compose::Composed, ComposeError> {
    let limit = data.recipient_limit();
    let composed = compose::compose(data, buffers, opts)?;
    if let Some((limit, shown)) = limit {
        // checked before the headers are encoded or anything is read, as nodemailer checks
        // it after compiling the MIME tree and before the transport runs
        let count = composed.envelope.to.len();
        if count as f64 > limit {
            return Err(ComposeError::new(
                "EMAXRECIPIENTS",
                format!(
                    "Message has {count} recipients, which is over the {shown} allowed by maxRecipients"
                ),
            ));
        }
    }
    Ok(composed)
}

#[cfg(test)]
mod tests;
