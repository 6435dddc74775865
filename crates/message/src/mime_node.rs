//! One MIME part (nodemailer lib/mime-node): its headers, its content, its children, and how
//! it is written out as body segments (headers, then the content in its transfer encoding,
//! then the children between boundaries).
//!
//! Header lists keep nodemailer's set/add semantics so that the observed header order falls out
//! the same way: a replaced header keeps its position, Content-Type moves last on the root.
//! Content is not encoded here: in-memory content small enough is encoded into a segment, the
//! rest (files, URLs, large buffers) is encoded while the body streams (body.rs).

use std::cell::Cell;
use std::collections::HashMap;
use std::path::PathBuf;

use bytes::Bytes;

use crate::address::{normalize_address, parse_address_list, Mailbox};
use crate::body::{Enc, Encoder, Lazy, Segment, LAZY_MEM_THRESHOLD};
use crate::dates::now_ms;
use crate::encoding as enc;
use crate::fetch::UrlRequest;
use crate::input::{AddressInput, HeaderValueInput, HeadersInput};
use crate::mime_types::detect_mime_type;

/// A header value as stored on a node, before encoding.
#[derive(Debug, Clone)]
pub(crate) enum HVal {
    Text(String),
    Addr(AddressInput),
    Refs(Vec<String>),
    DateMs(f64),
    Object {
        value: String,
        prepared: bool,
        fold: bool,
    },
}

/// Node content.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// `''`: falsy in nodemailer, no transfer encoding is chosen
    Empty,
    Str(String),
    /// shared with the caller's buffers (cloning is a reference count)
    Bytes(Bytes),
    File(PathBuf),
    Url(UrlRequest),
}

#[derive(Debug)]
pub(crate) struct Node {
    pub id: usize,
    pub headers: Vec<(String, HVal)>,
    pub content: Option<Source>,
    pub raw: Option<Source>,
    pub children: Vec<Node>,
    pub filename: Option<String>,
    is_plain_text: bool,
    has_long_lines: bool,
}

impl HVal {
    /// The mailboxes of an address header (nodemailer `_parseAddresses`).
    pub(crate) fn mailboxes(&self) -> Vec<Mailbox> {
        match self {
            HVal::Text(s) => parse_address_list(s),
            HVal::Object { value, .. } => parse_address_list(value),
            HVal::Addr(a) => {
                let mut out = Vec::new();
                let mut stack = vec![a];
                while let Some(a) = stack.pop() {
                    match a {
                        AddressInput::Text(s) => out.extend(parse_address_list(s)),
                        AddressInput::List(l) => stack.extend(l.iter().rev()),
                        AddressInput::Object { name, address, .. } => {
                            if let Some(addr) = address.as_deref().filter(|a| !a.is_empty()) {
                                out.push(Mailbox {
                                    name: name.clone().unwrap_or_default(),
                                    address: normalize_address(addr),
                                    group: None,
                                });
                            }
                            // an object without an address is stringified by nodemailer and dropped
                        }
                    }
                }
                out
            }
            _ => Vec::new(),
        }
    }
}

impl Node {
    /// A node with its Content-Type; a file name without a type gets the type of its extension.
    pub(crate) fn new(id: usize, content_type: Option<&str>, filename: Option<String>) -> Node {
        let mut n = Node {
            id,
            headers: Vec::new(),
            content: None,
            raw: None,
            children: Vec::new(),
            filename: None,
            is_plain_text: false,
            has_long_lines: false,
        };
        let mut ct = content_type.filter(|c| !c.is_empty()).map(str::to_string);
        if let Some(f) = filename.filter(|f| !f.is_empty()) {
            if ct.is_none() {
                ct = Some(detect_mime_type(f.rsplit('.').next().unwrap_or("")));
            }
            n.filename = Some(f);
        }
        if let Some(ct) = ct {
            n.set_header("Content-Type", HVal::Text(ct));
        }
        n
    }

    /// Sets a header: the first same-named header is replaced in place, the others removed.
    pub(crate) fn set_header(&mut self, key: &str, value: HVal) {
        let key = enc::normalize_header_key(key);
        let mut added = false;
        let mut i = 0;
        while i < self.headers.len() {
            if self.headers[i].0 == key {
                if !added {
                    self.headers[i] = (key.clone(), value.clone());
                    added = true;
                } else {
                    self.headers.remove(i);
                    continue;
                }
            }
            i += 1;
        }
        if !added {
            self.headers.push((key, value));
        }
    }

    /// Appends a header, keeping same-named ones.
    pub(crate) fn add_header(&mut self, key: &str, value: HVal) {
        self.headers.push((enc::normalize_header_key(key), value));
    }

    pub(crate) fn get_header(&self, key: &str) -> Option<&HVal> {
        let key = enc::normalize_header_key(key);
        self.headers.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub(crate) fn header_text(&self, key: &str) -> String {
        match self.get_header(key) {
            Some(HVal::Text(s)) => s.clone(),
            Some(HVal::Object { value, .. }) => value.clone(),
            _ => String::new(),
        }
    }

    /// The user's `headers` (object or list); an array value repeats the header.
    pub(crate) fn add_headers(&mut self, headers: &HeadersInput) {
        let add = |node: &mut Node, k: &str, v: &HeaderValueInput| {
            let mut stack = vec![v];
            // arrays repeat the header, in order
            while let Some(v) = stack.pop() {
                match v {
                    HeaderValueInput::List(l) => stack.extend(l.iter().rev()),
                    other => node.add_header(k, header_value(other)),
                }
            }
        };
        match headers {
            HeadersInput::Map(m) => {
                for (k, v) in m {
                    add(self, k, v);
                }
            }
            HeadersInput::List(l) => {
                for e in l {
                    add(self, &e.key, &e.value);
                }
            }
        }
    }

    pub(crate) fn set_content(&mut self, content: Source) {
        if let Source::Str(s) = &content {
            self.is_plain_text = enc::is_plain_text(s);
            self.has_long_lines = self.is_plain_text && enc::has_longer_lines(s, 76);
        }
        self.content = Some(content);
    }

    pub(crate) fn content_type_value(&self) -> String {
        self.header_text("Content-Type")
            .to_lowercase()
            .trim()
            .to_string()
    }

    /// The Content-Transfer-Encoding nodemailer chooses (None without content): a declared
    /// base64/QP wins; text is 7bit when it can be, else QP or base64 by content; other types
    /// keep a declared one, else base64; multipart and message parts keep a declared one.
    pub(crate) fn transfer_encoding(&self, text_encoding: Option<char>) -> Option<String> {
        let content = self.content.as_ref()?;
        if matches!(content, Source::Empty) {
            return None;
        }
        let ct = self.content_type_value();
        let te = self
            .header_text("Content-Transfer-Encoding")
            .to_lowercase()
            .trim()
            .to_string();
        if te == "base64" || te == "quoted-printable" {
            return Some(te);
        }
        if ct.starts_with("text/") {
            if self.is_plain_text && !self.has_long_lines {
                return Some("7bit".into());
            }
            let q = match content {
                Source::Str(s) => {
                    text_encoding.unwrap_or_else(|| enc::detect_text_encoding(s)) == 'Q'
                }
                Source::Bytes(b) => {
                    text_encoding
                        .unwrap_or_else(|| enc::detect_text_encoding(&String::from_utf8_lossy(b)))
                        == 'Q'
                }
                _ => text_encoding != Some('B'),
            };
            return Some(if q { "quoted-printable" } else { "base64" }.into());
        }
        if !(ct.starts_with("multipart/") || ct.starts_with("message/")) {
            return Some(if te.is_empty() { "base64".into() } else { te });
        }
        if te.is_empty() {
            None
        } else {
            Some(te)
        }
    }
}

/// A user header value as stored: numbers and `true` as text, `{value, prepared}` objects kept.
fn header_value(v: &HeaderValueInput) -> HVal {
    match v {
        HeaderValueInput::Text(s) => HVal::Text(s.clone()),
        HeaderValueInput::Number(n) => HVal::Text(js_number(*n)),
        HeaderValueInput::Bool(b) => HVal::Text(if *b { "true".into() } else { String::new() }),
        HeaderValueInput::List(_) => HVal::Text(String::new()),
        HeaderValueInput::Object {
            value,
            prepared,
            fold_lines,
        } => {
            let value = match value.as_deref() {
                Some(HeaderValueInput::Text(s)) => s.clone(),
                Some(HeaderValueInput::Number(n)) => js_number(*n),
                Some(HeaderValueInput::Bool(true)) => "true".into(),
                _ => String::new(),
            };
            HVal::Object {
                value,
                prepared: *prepared,
                fold: *fold_lines,
            }
        }
    }
}

/// A number header value as JS writes it.
fn js_number(n: f64) -> String {
    if n == 0.0 {
        // 0 is falsy: the header is skipped
        return String::new();
    }
    crate::js_number::js_number_string(n)
}

/// How a message's nodes are written out: the settings of one message that every part's
/// headers and body depend on.
#[derive(Debug)]
pub(crate) struct Writer {
    /// `textEncoding`: `Q` or `B` forced for headers and text parts
    pub text_encoding: Option<char>,
    pub keep_bcc: bool,
    pub raw_as_is: bool,
    /// each multipart boundary is this plus `-Part_<node id>`
    pub boundary_base: String,
    /// the user's `normalizeHeaderKey` results, by normalised name
    pub header_key_map: Option<HashMap<String, String>>,
    /// set while writing: a raw message with 8-bit bytes
    pub eight_bit: Cell<bool>,
}

impl Node {
    /// The headers nodemailer adds when it builds a node's header block (lib/mime-node
    /// `buildHeaders`): the transfer encoding, `Content-Disposition` for a named part, and on
    /// the root `Date` and `MIME-Version`, with `Content-Type` moved last.
    fn complete_headers(&mut self, is_root: bool, text_encoding: Option<char>) {
        if let Some(te) = self.transfer_encoding(text_encoding) {
            self.set_header("Content-Transfer-Encoding", HVal::Text(te));
        }
        if self.filename.is_some() && self.get_header("Content-Disposition").is_none() {
            self.set_header("Content-Disposition", HVal::Text("attachment".into()));
        }
        if !is_root {
            return;
        }
        if self.get_header("Date").is_none() {
            self.set_header("Date", HVal::DateMs(now_ms()));
        }
        if self.get_header("MIME-Version").is_none() {
            self.set_header("MIME-Version", HVal::Text("1.0".into()));
        }
        let len = self.headers.len();
        if len >= 2 {
            let mut i = len - 1;
            while i > 0 {
                i -= 1;
                if self.headers[i].0 == "Content-Type" {
                    let h = self.headers.remove(i);
                    self.headers.push(h);
                }
            }
        }
    }
}

impl Writer {
    /// Appends the node's segments to `out`: a raw node as is, else its header block, its
    /// encoded content and its children between boundaries.
    pub(crate) fn serialize(&self, node: &mut Node, is_root: bool, out: &mut Vec<Segment>) {
        if let Some(raw) = node.raw.take() {
            if has_8bit(&raw) {
                self.eight_bit.set(true);
            }
            push_source(out, raw, if self.raw_as_is { Enc::Raw } else { Enc::Lines });
            return;
        }
        node.complete_headers(is_root, self.text_encoding);
        let block = self.header_block(node);
        let headers = block.text;
        let content_type = block.content_type;
        let te = node.transfer_encoding(self.text_encoding);
        match node.content.take() {
            Some(content) => {
                let encoding = match te.as_deref() {
                    Some("base64") => Enc::Base64,
                    Some("quoted-printable") => Enc::Qp {
                        binary: !content_type.starts_with("text/"),
                    },
                    // binary content must reach the reader unchanged
                    Some("binary") => Enc::Raw,
                    _ => Enc::Lines,
                };
                if matches!(te.as_deref(), Some("8bit" | "binary")) && has_8bit(&content) {
                    // 8-bit bytes (e.g. a message/rfc822 attachment, which nodemailer labels
                    // 8bit): as is where the server offers 8BITMIME, else base64 (RFC 6152)
                    let content = match content {
                        Source::Str(s) => Source::Bytes(Bytes::from(s.into_bytes())),
                        other => other,
                    };
                    let mut eight = vec![Segment::Bytes(Bytes::from(format!("{headers}\r\n\r\n")))];
                    push_source(&mut eight, content.clone(), encoding);
                    let mut seven = vec![Segment::Bytes(Bytes::from(format!(
                        "{}\r\n\r\n",
                        with_base64_cte(&headers)
                    )))];
                    push_source(&mut seven, content, Enc::Base64);
                    out.push(Segment::Choice { eight, seven });
                } else {
                    out.push(Segment::Bytes(Bytes::from(format!("{headers}\r\n\r\n"))));
                    push_source(out, content, encoding);
                }
            }
            None => out.push(Segment::Bytes(Bytes::from(format!("{headers}\r\n\r\n")))),
        }
        if let Some(b) = block.boundary {
            let mut children = std::mem::take(&mut node.children);
            for (i, child) in children.iter_mut().enumerate() {
                out.push(Segment::Bytes(Bytes::from(format!(
                    "{}--{b}\r\n",
                    if i > 0 { "\r\n" } else { "" }
                ))));
                self.serialize(child, false, out);
            }
            out.push(Segment::Bytes(Bytes::from(format!("\r\n--{b}--\r\n"))));
        }
    }
}

/// In-memory content with bytes outside 7-bit text (RFC 6152: NUL or over 127). Files and URLs
/// are not read ahead: they keep their declared encoding.
fn has_8bit(src: &Source) -> bool {
    let bytes = match src {
        Source::Str(s) => s.as_bytes(),
        Source::Bytes(b) => b,
        _ => return false,
    };
    bytes.iter().any(|&b| b == 0 || b >= 0x80)
}

/// The header block with its Content-Transfer-Encoding line set to base64.
fn with_base64_cte(headers: &str) -> String {
    headers
        .split("\r\n")
        .map(|line| {
            let name_end = line.find(':').unwrap_or(0);
            if line[..name_end].eq_ignore_ascii_case("content-transfer-encoding") {
                format!("{}: base64", &line[..name_end])
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Appends content as segments: small in-memory content encoded now, the rest while it streams.
fn push_source(out: &mut Vec<Segment>, src: Source, encoding: Enc) {
    let bytes: Bytes = match src {
        Source::Empty => return,
        Source::File(p) => {
            out.push(Segment::Lazy {
                src: Lazy::File(p),
                enc: encoding,
            });
            return;
        }
        Source::Url(r) => {
            out.push(Segment::Lazy {
                src: Lazy::Url(r),
                enc: encoding,
            });
            return;
        }
        Source::Str(s) => Bytes::from(s.into_bytes()),
        Source::Bytes(b) => b,
    };
    if encoding == Enc::Raw {
        // written unchanged: the shared bytes themselves
        out.push(Segment::Bytes(bytes));
    } else if bytes.len() > LAZY_MEM_THRESHOLD {
        out.push(Segment::Lazy {
            src: Lazy::Mem(bytes),
            enc: encoding,
        });
    } else {
        let encoded = Encoder::encode_all(encoding, &bytes);
        out.push(Segment::Bytes(Bytes::from(encoded)));
    }
}
