//! The MIME tree (nodemailer `MimeNode` + `MailComposer` + the header steps of `Mail`).
//!
//! Header lists keep nodemailer's set/add semantics so that the observed header order falls out
//! the same way: a replaced header keeps its position, Content-Type moves last on the root.

use std::path::PathBuf;

use bytes::Bytes;

use crate::address::{
    convert_addresses, normalize_address, parse_address_list, Mailbox, UniqueMailboxes,
};
use crate::body::{Enc, Encoder, Lazy, Segment, LAZY_MEM_THRESHOLD};
use crate::encoding::{self as enc, Structured};
use crate::fetch::{redact_url, UrlRequest};
use crate::input::*;
use crate::{ComposeError, ComposeOptions, Envelope};

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
    id: usize,
    headers: Vec<(String, HVal)>,
    content: Option<Source>,
    raw: Option<Source>,
    children: Vec<Node>,
    filename: Option<String>,
    is_plain_text: bool,
    has_long_lines: bool,
}

const FORMATTED: [&str; 8] = [
    "From",
    "Sender",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "Date",
    "References",
];

impl Node {
    fn new(id: usize, content_type: Option<&str>, filename: Option<String>) -> Node {
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

    fn add_header(&mut self, key: &str, value: HVal) {
        self.headers.push((enc::normalize_header_key(key), value));
    }

    fn get_header(&self, key: &str) -> Option<&HVal> {
        let key = enc::normalize_header_key(key);
        self.headers.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn header_text(&self, key: &str) -> String {
        match self.get_header(key) {
            Some(HVal::Text(s)) => s.clone(),
            Some(HVal::Object { value, .. }) => value.clone(),
            _ => String::new(),
        }
    }

    fn add_headers(&mut self, headers: &HeadersInput) {
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

    fn set_content(&mut self, content: Source) {
        if let Source::Str(s) = &content {
            self.is_plain_text = enc::is_plain_text(s);
            self.has_long_lines = self.is_plain_text && enc::has_longer_lines(s, 76);
        }
        self.content = Some(content);
    }

    fn content_type_value(&self) -> String {
        self.header_text("Content-Type")
            .to_lowercase()
            .trim()
            .to_string()
    }

    fn transfer_encoding(&self, text_encoding: Option<char>) -> Option<String> {
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

fn js_number(n: f64) -> String {
    if n == 0.0 {
        // 0 is falsy: the header is skipped
        return String::new();
    }
    crate::json::js_number_string(n)
}

/// Content type for a file extension (nodemailer `detectMimeType`, table from mime_guess).
pub(crate) fn detect_mime_type(name: &str) -> String {
    // path.parse(filename): the extension, else the whole name
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let ext = match base.rfind('.') {
        Some(p) if p > 0 => &base[p + 1..],
        _ => base,
    };
    let ext = ext.split('?').next().unwrap_or("").trim().to_lowercase();
    match ext.as_str() {
        "" => "application/octet-stream".into(),
        "jpg" | "jpeg" | "jpe" => "image/jpeg".into(),
        "txt" | "text" => "text/plain".into(),
        "ics" => "text/calendar".into(),
        "eml" => "message/rfc822".into(),
        "bin" => "application/octet-stream".into(),
        _ => mime_guess::from_ext(&ext)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_string(),
    }
}

/// File extension for a content type (nodemailer `detectExtension`).
pub(crate) fn detect_extension(content_type: &str) -> String {
    let ct = content_type.trim().to_lowercase();
    let (root, sub) = ct.split_once('/').unwrap_or((&ct, ""));
    let full = format!("{}/{}", root.trim(), sub.trim());
    let known = match full.as_str() {
        "application/octet-stream" => Some("*"),
        "text/plain" => Some("txt"),
        "text/html" => Some("html"),
        "image/jpeg" => Some("jpeg"),
        "message/rfc822" => Some("eml"),
        "text/calendar" => Some("ics"),
        _ => None,
    };
    if let Some(k) = known {
        return k.into();
    }
    if let Some(exts) = mime_guess::get_mime_extensions_str(&full) {
        if let Some(e) = exts.first() {
            return (*e).to_string();
        }
    }
    if root.trim() == "text" {
        "txt".into()
    } else {
        "bin".into()
    }
}

/// Content reference before access checks.
#[derive(Debug, Clone)]
enum Src {
    Value(Source),
    Path(String),
    Href(UrlRequest),
}

/// `httpHeaders` and `tls` of a content object, for its `href`.
#[derive(Debug, Clone, Default)]
pub(crate) struct FetchOpts {
    headers: Vec<(String, String)>,
    ca: Vec<String>,
    reject_unauthorized: bool,
}

impl FetchOpts {
    fn of(headers: &Option<OrderedMap>, tls: &Option<TlsInput>) -> FetchOpts {
        let headers = headers
            .as_ref()
            .map(|h| {
                h.0.iter()
                    .filter_map(|(k, v)| match v {
                        serde_json::Value::String(s) => Some((k.clone(), s.clone())),
                        serde_json::Value::Number(n) => Some((k.clone(), n.to_string())),
                        serde_json::Value::Bool(b) => Some((k.clone(), b.to_string())),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ca = match tls.as_ref().and_then(|t| t.ca.clone()) {
            Some(StringOrList::One(c)) => vec![c],
            Some(StringOrList::Many(l)) => l,
            None => Vec::new(),
        };
        FetchOpts {
            headers,
            ca,
            reject_unauthorized: tls
                .as_ref()
                .and_then(|t| t.reject_unauthorized)
                .unwrap_or(true),
        }
    }

    fn request(&self, url: String) -> UrlRequest {
        UrlRequest {
            url,
            headers: self.headers.clone(),
            ca: self.ca.clone(),
            reject_unauthorized: self.reject_unauthorized,
        }
    }
}

#[derive(Debug, Clone)]
struct Element {
    content_type: String,
    content_disposition: Option<String>,
    cte: Option<String>,
    filename: Option<String>,
    cid: Option<String>,
    content: Src,
    raw: Option<Src>,
    encoding: Option<String>,
    headers: Option<HeadersInput>,
}

struct Ctx<'a> {
    buffers: &'a [Bytes],
    disable_file: bool,
    disable_url: bool,
    mail_encoding: Option<String>,
    counter: usize,
}

fn is_data_url(s: Option<&str>) -> bool {
    s.is_some_and(|s| s.len() >= 5 && s[..5].eq_ignore_ascii_case("data:"))
}

fn is_http(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// `data:` URI → (bytes, content type).
pub(crate) fn parse_data_url(uri: &str) -> Option<(Vec<u8>, String)> {
    if !uri.starts_with("data:") {
        return None;
    }
    let comma = uri.find(',')?;
    let data = &uri[comma + 1..];
    let mut meta: Vec<&str> = uri[5..comma].split(';').collect();
    let mut base64 = false;
    if let Some(last) = meta.last() {
        let l = last.trim().to_lowercase();
        if l == "base64" || l == "utf8" || l == "utf-8" {
            base64 = l == "base64";
            meta.pop();
        }
    }
    let ct = meta
        .first()
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "application/octet-stream".into());
    let bytes = if base64 {
        enc::base64_decode_lenient(data)
    } else {
        percent_decode(data)
    };
    Some((bytes, ct))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let h = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            out.push(h(b[i + 1]) * 16 + h(b[i + 2]));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

impl Ctx<'_> {
    fn next_id(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    fn value(&self, c: &ContentInput) -> Result<Source, ComposeError> {
        Ok(match c {
            ContentInput::Text(s) if s.is_empty() => Source::Empty,
            ContentInput::Text(s) => Source::Str(s.clone()),
            ContentInput::BufferRef { index } => match self.buffers.get(*index) {
                Some(b) => Source::Bytes(b.clone()),
                None => {
                    return Err(ComposeError::new(
                        "EMESSAGE",
                        format!("Buffer {index} was not passed to the composer"),
                    ))
                }
            },
            // an object without content/path/href/raw has no content
            ContentInput::Object(_) => Source::Empty,
        })
    }

    fn resolve(&self, s: &Src) -> Result<Source, ComposeError> {
        match s {
            Src::Value(v) => Ok(v.clone()),
            Src::Path(p) => {
                if self.disable_file {
                    return Err(ComposeError::new(
                        "EFILEACCESS",
                        format!("File access rejected for {p}"),
                    ));
                }
                Ok(Source::File(PathBuf::from(p)))
            }
            Src::Href(r) => {
                if self.disable_url {
                    return Err(ComposeError::new(
                        "EURLACCESS",
                        format!("Url access rejected for {}", redact_url(&r.url)),
                    ));
                }
                // fetched while the message streams (see fetch.rs)
                Ok(Source::Url(r.clone()))
            }
        }
    }

    /// Turns a `data:` URI in path/href into content (nodemailer `_processDataUrl`).
    fn element_source(
        &self,
        path: &mut Option<String>,
        href: &mut Option<String>,
        content_type: &mut Option<String>,
        data_content: &mut Option<Source>,
    ) -> Result<(), ComposeError> {
        let url = path
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| href.clone());
        if is_data_url(url.as_deref()) {
            if let Some((bytes, ct)) = url.as_deref().and_then(parse_data_url) {
                *data_content = Some(Source::Bytes(bytes.into()));
                if content_type.as_deref().is_none_or(str::is_empty) {
                    *content_type = Some(ct);
                }
                *path = None;
                *href = None;
            }
        }
        Ok(())
    }

    /// `build_src` for an attachment-shaped part (attachment, alternative, icalEvent).
    fn attachment_src(
        &self,
        a: &Attachment,
        data_content: Option<Source>,
    ) -> Result<(Src, Option<Src>), ComposeError> {
        self.build_src(
            a.content.as_ref(),
            a.path.clone(),
            a.href.clone(),
            a.raw.as_ref(),
            data_content,
            &FetchOpts::of(&a.http_headers, &a.tls),
        )
    }

    fn build_src(
        &self,
        content: Option<&ContentInput>,
        path: Option<String>,
        href: Option<String>,
        raw: Option<&ContentInput>,
        data_content: Option<Source>,
        fo: &FetchOpts,
    ) -> Result<(Src, Option<Src>), ComposeError> {
        let (path, href) = match path.filter(|p| !p.is_empty()) {
            Some(p) if is_http(&p) => (None, Some(p)),
            p => (p, href.filter(|h| !h.is_empty())),
        };
        let raw = match raw {
            Some(r) => match self.value(r)? {
                Source::Empty => match r {
                    ContentInput::Object(o) => self.object_src(o)?,
                    _ => None,
                },
                v => Some(Src::Value(v)),
            },
            None => None,
        };
        let content = if let Some(d) = data_content {
            Src::Value(d)
        } else if let Some(p) = path {
            Src::Path(p)
        } else if let Some(h) = href {
            Src::Href(fo.request(h))
        } else {
            match content {
                Some(ContentInput::Object(o)) => content_ref_src(o),
                Some(c) => Src::Value(self.value(c)?),
                None => Src::Value(Source::Empty),
            }
        };
        Ok((content, raw))
    }

    /// `{path}`/`{href}`/`{content}` objects nested as raw or content values.
    fn object_src(&self, o: &ContentObject) -> Result<Option<Src>, ComposeError> {
        let fo = FetchOpts::of(&o.http_headers, &o.tls);
        if let Some(p) = o.path.clone().filter(|p| !p.is_empty()) {
            if let Some((b, _)) = parse_data_url(&p) {
                return Ok(Some(Src::Value(Source::Bytes(b.into()))));
            }
            return Ok(Some(if is_http(&p) {
                Src::Href(fo.request(p))
            } else {
                Src::Path(p)
            }));
        }
        if let Some(h) = o.href.clone().filter(|h| !h.is_empty()) {
            return Ok(Some(Src::Href(fo.request(h))));
        }
        if let Some(c) = &o.content {
            let v = self.value(c)?;
            return Ok(Some(Src::Value(match (v, o.encoding.as_deref()) {
                (Source::Str(s), Some(e)) => convert_encoding(Source::Str(s), e),
                (v, _) => v,
            })));
        }
        Ok(None)
    }
}

/// `content: { path }` / `content: { href, httpHeaders, tls }`: read or fetched like a part's
/// own `path`/`href` (sandbox included), as nodemailer's `MimeNode` streams such a value: `href`
/// wins, a `path` is a file even when it looks like a URL. Any other object has no content.
fn content_ref_src(o: &ContentObject) -> Src {
    if let Some(h) = o.href.clone().filter(|h| !h.is_empty()) {
        return Src::Href(FetchOpts::of(&o.http_headers, &o.tls).request(h));
    }
    match o.path.clone().filter(|p| !p.is_empty()) {
        Some(p) => Src::Path(p),
        None => Src::Value(Source::Empty),
    }
}

fn norm_encoding(e: &str) -> String {
    e.to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '-' | '_') && !c.is_whitespace())
        .collect()
}

fn convert_encoding(s: Source, encoding: &str) -> Source {
    let e = norm_encoding(encoding);
    match s {
        Source::Str(st) if !["utf8", "usascii", "ascii"].contains(&e.as_str()) => {
            Source::Bytes(enc::decode_string(&st, &e).into())
        }
        other => other,
    }
}

fn cte_value(v: &Option<serde_json::Value>) -> (bool, Option<String>) {
    match v {
        None | Some(serde_json::Value::Null) => (false, None),
        Some(serde_json::Value::String(s)) if !s.is_empty() => (true, Some(s.clone())),
        Some(_) => (true, None),
    }
}

fn content_object_of(c: &Option<ContentInput>) -> Option<ContentObject> {
    match c {
        None => None,
        Some(ContentInput::Object(o))
            if o.content.is_some() || o.path.is_some() || o.href.is_some() || o.raw.is_some() =>
        {
            Some((**o).clone())
        }
        Some(other) => Some(ContentObject {
            content: Some(other.clone()),
            ..Default::default()
        }),
    }
}

fn truthy_content(c: &Option<ContentInput>) -> bool {
    match c {
        None => false,
        Some(ContentInput::Text(s)) => !s.is_empty(),
        _ => true,
    }
}

fn filename_of(f: &Option<FilenameInput>) -> Option<String> {
    match f {
        Some(FilenameInput::Name(n)) if !n.is_empty() => Some(n.clone()),
        _ => None,
    }
}

pub(crate) struct Composed {
    pub root: Node,
    pub envelope: Envelope,
    pub message_id: String,
    text_encoding: Option<char>,
    keep_bcc: bool,
    raw_as_is: bool,
    /// set while serialising: a raw message with 8-bit bytes
    eight_bit: std::cell::Cell<bool>,
    boundary_base: String,
    header_key_map: Option<std::collections::HashMap<String, String>>,
}

/// nodemailer's name for an attachment without one: the last path segment of its `path` or
/// `href` (query dropped), else `attachment-N`; an extension from the content type if it has none.
pub(crate) fn default_attachment_filename(src: &str, index: usize, content_type: &str) -> String {
    let base = src
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .split('?')
        .next()
        .unwrap_or("");
    let f = if base.is_empty() {
        format!("attachment-{}", index + 1)
    } else {
        base.to_string()
    };
    if f.contains('.') {
        f
    } else {
        format!("{f}.{}", detect_extension(content_type))
    }
}

/// `n` random bytes as lowercase hex (Message-IDs, boundaries). OS randomness, drawn in blocks
/// per thread: one `getrandom` call served a syscall per message (a few per cent of the
/// pooled send's CPU).
pub(crate) fn random_hex(n: usize) -> String {
    use std::cell::RefCell;
    const BLOCK: usize = 512;
    thread_local! {
        static POOL: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(n * 2);
    let mut left = n;
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        while left > 0 {
            if pool.1 >= pool.0.len() {
                pool.0 = fresh_random(BLOCK);
                pool.1 = 0;
            }
            let (buf, pos) = &mut *pool;
            let take = left.min(buf.len() - *pos);
            for &b in &buf[*pos..*pos + take] {
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
            // used bytes are wiped: nothing drawn twice, nothing left to read later
            buf[*pos..*pos + take].fill(0);
            *pos += take;
            left -= take;
        }
    });
    out
}

fn fresh_random(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    if getrandom::getrandom(&mut buf).is_err() {
        // no OS RNG: fall back to std's randomly seeded hasher, uniqueness is all we need here
        use std::hash::{BuildHasher, Hasher};
        for chunk in buf.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0),
            );
            let v = h.finish().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    buf
}

/// Resolves an address input to mailboxes (nodemailer `_parseAddresses`).
fn parse_addresses(v: &HVal) -> Vec<Mailbox> {
    match v {
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

fn envelope_addresses(a: &AddressInput) -> Vec<Mailbox> {
    parse_addresses(&HVal::Addr(a.clone()))
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

fn get_envelope(root: &Node, forced: Option<char>) -> Envelope {
    let mut from = String::new();
    // one set across To, Cc and Bcc: a recipient is listed once
    let mut recipients = UniqueMailboxes::new();
    for (k, v) in &root.headers {
        if k == "From" || (from.is_empty() && (k == "Reply-To" || k == "Sender")) {
            let mut list = UniqueMailboxes::new();
            convert_addresses(&parse_addresses(v), Some(&mut list), forced);
            if let Some(first) = list.list.first() {
                from = first.address.clone();
            }
        } else if k == "To" || k == "Cc" || k == "Bcc" {
            convert_addresses(&parse_addresses(v), Some(&mut recipients), forced);
        }
    }
    Envelope {
        from,
        to: recipients.list.into_iter().map(|m| m.address).collect(),
        extra: Default::default(),
    }
}

fn set_envelope(e: &EnvelopeInput, forced: Option<char>) -> Envelope {
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

impl Ctx<'_> {
    fn content_node(&mut self, el: &Element) -> Result<Node, ComposeError> {
        let id = self.next_id();
        let mut node = Node::new(id, Some(&el.content_type), el.filename.clone());
        if let Some(h) = &el.headers {
            node.add_headers(h);
        }
        if let Some(cid) = &el.cid {
            node.set_header(
                "Content-Id",
                HVal::Text(format!("<{}>", cid.replace(['<', '>'], ""))),
            );
        }
        let is_text = el.content_type.to_lowercase().starts_with("text/");
        if let Some(cte) = &el.cte {
            node.set_header("Content-Transfer-Encoding", HVal::Text(cte.clone()));
        } else if let Some(e) = self.mail_encoding.clone().filter(|_| is_text) {
            node.set_header("Content-Transfer-Encoding", HVal::Text(e));
        }
        if !is_text || el.content_disposition.is_some() {
            let is_image = el.content_type.to_lowercase().starts_with("image/");
            let cd = el.content_disposition.clone().unwrap_or_else(|| {
                if el.cid.is_some() && is_image {
                    "inline".into()
                } else {
                    "attachment".into()
                }
            });
            node.set_header("Content-Disposition", HVal::Text(cd));
        }
        if let Some(raw) = &el.raw {
            node.raw = Some(self.resolve(raw)?);
        } else {
            let mut content = self.resolve(&el.content)?;
            if let Some(e) = &el.encoding {
                content = convert_encoding(content, e);
            }
            node.set_content(content);
        }
        Ok(node)
    }
}

/// The html as text, for `attachDataUrls` (nodemailer resolves it first). Remote html is left
/// alone: it is only fetched while the message streams.
fn html_text(
    html: &ContentInput,
    buffers: &[Bytes],
    disable_file: bool,
) -> Result<Option<String>, ComposeError> {
    let from_value = |c: &ContentInput| match c {
        ContentInput::Text(s) => Some(s.clone()),
        ContentInput::BufferRef { index } => buffers
            .get(*index)
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        ContentInput::Object(_) => None,
    };
    let ContentInput::Object(o) = html else {
        return Ok(from_value(html));
    };
    if let Some(p) = o.path.as_deref().filter(|p| !p.is_empty()) {
        if is_data_url(Some(p)) {
            return Ok(parse_data_url(p).map(|(b, _)| String::from_utf8_lossy(&b).into_owned()));
        }
        if is_http(p) {
            return Ok(None);
        }
        if disable_file {
            return Err(ComposeError::new(
                "EFILEACCESS",
                format!("File access rejected for {p}"),
            ));
        }
        return std::fs::read(p)
            .map(|b| Some(String::from_utf8_lossy(&b).into_owned()))
            .map_err(|e| ComposeError::new("EFILEACCESS", format!("{p}: {e}")));
    }
    if o.href.as_deref().is_some_and(|h| !h.is_empty()) || o.raw.is_some() {
        return Ok(None);
    }
    Ok(match &o.content {
        Some(c) => from_value(c).map(|s| match o.encoding.as_deref() {
            Some(e) => match convert_encoding(Source::Str(s.clone()), e) {
                Source::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
                _ => s,
            },
            None => s,
        }),
        None => None,
    })
}

/// Replaces each `<img src="data:...">` URI with `cid:<cid>`, `cid` given by `f(uri, mime)`.
pub(crate) fn replace_data_images(html: &str, mut f: impl FnMut(&str, &str) -> String) -> String {
    static IMG: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(re) = IMG
        .get_or_init(|| {
            // nodemailer's pattern, bounded repetitions included (no catastrophic backtracking
            // either way: the regex crate is linear time)
            regex::Regex::new(
                r#"(?i)(<img\b[^<>]{0,1024} src\s{0,20}=[\s"']{0,20})(data:([^;"'<>\s]{1,255});[^"'>\s]+)"#,
            )
            .ok()
        })
        .as_ref()
    else {
        return html.to_string();
    };
    re.replace_all(html, |c: &regex::Captures| {
        let cid = f(&c[2], &c[3]);
        format!("{}cid:{cid}", &c[1])
    })
    .into_owned()
}

/// `attachDataUrls`: `<img src="data:...">` in the html becomes a `cid:` reference to an
/// attachment `image-N.<ext>` (nodemailer `_convertDataImages`).
fn convert_data_images(
    data: &mut MailData,
    buffers: &[Bytes],
    disable_file: bool,
) -> Result<(), ComposeError> {
    let Some(html) = data
        .html
        .as_ref()
        .filter(|h| truthy_content(&Some((*h).clone())))
    else {
        return Ok(());
    };
    let Some(text) = html_text(html, buffers, disable_file)? else {
        return Ok(());
    };
    let mut added = Vec::new();
    let replaced = replace_data_images(&text, |uri, mime| {
        let cid = format!("{}@localhost", random_hex(10));
        added.push(Attachment {
            path: Some(uri.to_string()),
            cid: Some(cid.clone()),
            filename: Some(FilenameInput::Name(format!(
                "image-{}.{}",
                added.len() + 1,
                detect_extension(mime)
            ))),
            ..Default::default()
        });
        cid
    });
    let mut list = data
        .attachments
        .take()
        .map(OneOrMany::into_vec)
        .unwrap_or_default();
    let had_list = !list.is_empty() || !added.is_empty();
    list.extend(added);
    if had_list {
        data.attachments = Some(OneOrMany::Many(list));
    }
    data.html = Some(ContentInput::Text(replaced));
    Ok(())
}

pub(crate) fn compose(
    mut data: MailData,
    buffers: &[Bytes],
    opts: &ComposeOptions,
) -> Result<Composed, ComposeError> {
    let header_key_map = data.header_key_map.take();
    // the transport's attachDataUrls reaches here as the message's flag (set by the JS layer)
    if data.attach_data_urls.unwrap_or(false) {
        let disable_file = opts.disable_file_access || data.disable_file_access.unwrap_or(false);
        convert_data_images(&mut data, buffers, disable_file)?;
    }
    let text_encoding = data
        .text_encoding
        .as_deref()
        .and_then(|t| t.trim().chars().next())
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| *c == 'Q' || *c == 'B');
    let mut ctx = Ctx {
        buffers,
        disable_file: opts.disable_file_access || data.disable_file_access.unwrap_or(false),
        disable_url: opts.disable_url_access || data.disable_url_access.unwrap_or(false),
        mail_encoding: data.encoding.clone().filter(|e| !e.is_empty()),
        counter: 0,
    };

    // ---- alternatives (text, watchHtml, amp, html, calendar, alternatives)
    let ical = content_object_of(&data.ical_event);
    let mut alt_objs: Vec<(Attachment, Option<&'static str>)> = Vec::new();
    let as_att = |o: ContentObject| Attachment {
        filename: o.filename,
        content: o.content,
        path: o.path,
        href: o.href,
        encoding: o.encoding,
        content_type: o.content_type,
        headers: o.headers,
        raw: o.raw,
        content_transfer_encoding: o.content_transfer_encoding,
        http_headers: o.http_headers,
        tls: o.tls,
        ..Default::default()
    };
    for (field, ct) in [
        (&data.text, "text/plain; charset=utf-8"),
        (&data.watch_html, "text/watch-html; charset=utf-8"),
        (&data.amp, "text/x-amp-html; charset=utf-8"),
    ] {
        if truthy_content(field) {
            if let Some(o) = content_object_of(field) {
                alt_objs.push((as_att(o), Some(ct)));
            }
        }
    }
    let html_obj = if truthy_content(&data.html) {
        content_object_of(&data.html)
    } else {
        None
    };
    if let Some(o) = html_obj {
        alt_objs.push((as_att(o), Some("text/html; charset=utf-8")));
    }
    if let Some(ev) = ical.clone().filter(|_| truthy_content(&data.ical_event)) {
        let method = ev
            .method
            .clone()
            .unwrap_or_else(|| "PUBLISH".into())
            .trim()
            .to_uppercase();
        let mut a = as_att(ev);
        a.filename = Some(FilenameInput::Flag(false));
        alt_objs.push((a, None));
        let last = alt_objs.len() - 1;
        alt_objs[last].0.content_type =
            Some(format!("text/calendar; charset=utf-8; method={method}"));
    }
    if let Some(alts) = data.alternatives.clone() {
        for a in alts.into_vec() {
            alt_objs.push((a, None));
        }
    }
    let mut alternatives = Vec::new();
    for (mut a, forced_ct) in alt_objs {
        let mut data_content = None;
        ctx.element_source(
            &mut a.path,
            &mut a.href,
            &mut a.content_type,
            &mut data_content,
        )?;
        let content_type = forced_ct
            .map(str::to_string)
            .or(a.content_type.clone().filter(|c| !c.is_empty()))
            .unwrap_or_else(|| {
                detect_mime_type(
                    &filename_of(&a.filename)
                        .or(a.path.clone())
                        .or(a.href.clone())
                        .unwrap_or_else(|| "txt".into()),
                )
            });
        let (content, raw) = ctx.attachment_src(&a, data_content)?;
        alternatives.push(Element {
            content_type,
            content_disposition: None,
            cte: cte_value(&a.content_transfer_encoding).1,
            filename: filename_of(&a.filename),
            cid: None,
            content,
            raw,
            encoding: a.encoding.clone().filter(|e| !e.is_empty()),
            headers: a.headers.clone(),
        });
    }
    let html_index = alternatives.iter().rposition(|a| {
        let ct = a.content_type.to_lowercase();
        ct.starts_with("text/html")
            && !ct[9..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    });

    // ---- attachments
    let mut attachments = Vec::new();
    for (i, mut a) in data
        .attachments
        .clone()
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let mut data_content = None;
        ctx.element_source(
            &mut a.path,
            &mut a.href,
            &mut a.content_type,
            &mut data_content,
        )?;
        let content_type = a
            .content_type
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| {
                detect_mime_type(
                    &filename_of(&a.filename)
                        .or(a.path.clone().filter(|p| !p.is_empty()))
                        .or(a.href.clone())
                        .unwrap_or_else(|| "bin".into()),
                )
            });
        let lct = content_type.to_lowercase();
        let is_image = lct.starts_with("image/");
        let is_message = lct.starts_with("message/");
        let cid = a.cid.clone().filter(|c| !c.is_empty());
        let content_disposition = a
            .content_disposition
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| {
                if is_message || (is_image && cid.is_some()) {
                    "inline".into()
                } else {
                    "attachment".into()
                }
            });
        let (specified, cte) = cte_value(&a.content_transfer_encoding);
        let cte = if specified {
            cte
        } else if is_message {
            let content: Option<&[u8]> = match (&data_content, &a.content) {
                (Some(Source::Bytes(b)), _) => Some(b),
                (_, Some(ContentInput::Text(s))) => Some(s.as_bytes()),
                (_, Some(ContentInput::BufferRef { index })) => buffers.get(*index).map(|b| &b[..]),
                _ => None,
            };
            let seven = a.encoding.is_none()
                && a.path.is_none()
                && a.href.is_none()
                && content.is_some_and(fits_seven_bit);
            Some(if seven { "7bit".into() } else { "8bit".into() })
        } else {
            Some("base64".into())
        };
        let filename = match &a.filename {
            Some(FilenameInput::Name(n)) if !n.is_empty() => Some(n.clone()),
            Some(FilenameInput::Flag(false)) => None,
            _ if is_message => None,
            _ => {
                let src = a
                    .path
                    .clone()
                    .filter(|p| !p.is_empty())
                    .or(a.href.clone())
                    .unwrap_or_default();
                Some(default_attachment_filename(&src, i, &content_type))
            }
        };
        let (content, raw) = ctx.attachment_src(&a, data_content)?;
        attachments.push(Element {
            content_type,
            content_disposition: Some(content_disposition),
            cte,
            filename,
            cid,
            content,
            raw,
            encoding: a.encoding.clone().filter(|e| !e.is_empty()),
            headers: a.headers.clone(),
        });
    }
    let mut ical_attachment = None;
    if let Some(ev) = ical.filter(|_| truthy_content(&data.ical_event)) {
        let mut a = as_att(ev);
        let mut data_content = None;
        ctx.element_source(
            &mut a.path,
            &mut a.href,
            &mut a.content_type,
            &mut data_content,
        )?;
        let (content, raw) = ctx.attachment_src(&a, data_content)?;
        let mut headers = match a.headers.clone() {
            Some(HeadersInput::Map(m)) => m,
            Some(HeadersInput::List(l)) => l.into_iter().map(|e| (e.key, e.value)).collect(),
            None => Vec::new(),
        };
        for (k, v) in [
            ("Content-Disposition", "attachment"),
            ("Content-Transfer-Encoding", "base64"),
        ] {
            match headers.iter_mut().find(|(hk, _)| hk == k) {
                Some(h) => h.1 = HeaderValueInput::Text(v.into()),
                None => headers.push((k.into(), HeaderValueInput::Text(v.into()))),
            }
        }
        ical_attachment = Some(Element {
            content_type: "application/ics".into(),
            content_disposition: None,
            cte: cte_value(&a.content_transfer_encoding).1,
            filename: Some(filename_of(&a.filename).unwrap_or_else(|| "invite.ics".into())),
            cid: None,
            content,
            raw,
            encoding: a.encoding.clone().filter(|e| !e.is_empty()),
            headers: Some(HeadersInput::Map(headers)),
        });
    }
    let (mut attached, related): (Vec<Element>, Vec<Element>) = if html_index.is_some() {
        attachments.into_iter().partition(|a| a.cid.is_none())
    } else {
        (attachments, Vec::new())
    };
    attached.extend(ical_attachment);

    let use_related = html_index.is_some() && !related.is_empty();
    let use_alternative = alternatives.len() > 1;
    let use_mixed = attached.len() > 1 || (!alternatives.is_empty() && attached.len() == 1);

    let base_boundary = data
        .base_boundary
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| random_hex(8));
    let prefix = data
        .boundary_prefix
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "--_NmP".into());
    let boundary_base: String = format!("{prefix}-{base_boundary}")
        .chars()
        .filter(|c| !(*c <= '\u{1f}' || *c == '\u{7f}'))
        .collect();

    let mut root = if let Some(raw) = &data.raw {
        let id = ctx.next_id();
        let mut node = Node::new(id, Some("message/rfc822"), None);
        let src = match ctx.value(raw)? {
            Source::Empty => match raw {
                ContentInput::Object(o) => ctx.object_src(o)?.unwrap_or(Src::Value(Source::Empty)),
                _ => Src::Value(Source::Empty),
            },
            v => Src::Value(v),
        };
        node.raw = Some(ctx.resolve(&src)?);
        node
    } else if use_mixed {
        let id = ctx.next_id();
        let mut node = Node::new(id, Some("multipart/mixed"), None);
        if use_alternative {
            node.children.push(build_alternative(
                &mut ctx,
                &alternatives,
                html_index,
                use_related,
                &related,
            )?);
        } else if use_related {
            node.children.push(build_related(
                &mut ctx,
                &alternatives,
                html_index,
                &related,
            )?);
        }
        let alts: &[Element] = if use_alternative { &[] } else { &alternatives };
        for (i, el) in alts.iter().enumerate() {
            if !use_related || Some(i) != html_index {
                let child = ctx.content_node(el)?;
                node.children.push(child);
            }
        }
        for el in &attached {
            let child = ctx.content_node(el)?;
            node.children.push(child);
        }
        node
    } else if use_alternative {
        build_alternative(&mut ctx, &alternatives, html_index, use_related, &related)?
    } else if use_related {
        build_related(&mut ctx, &alternatives, html_index, &related)?
    } else {
        let first = alternatives
            .first()
            .or(attached.first())
            .cloned()
            .unwrap_or(Element {
                content_type: "text/plain".into(),
                content_disposition: None,
                cte: None,
                filename: None,
                cid: None,
                content: Src::Value(Source::Empty),
                raw: None,
                encoding: None,
                headers: None,
            });
        ctx.content_node(&first)?
    };

    // ---- root headers
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
    let mut envelope = match &data.envelope {
        Some(e) => set_envelope(e, text_encoding),
        None => get_envelope(&root, text_encoding),
    };
    if data.envelope.is_none() {
        envelope.extra = Default::default();
    }
    let message_id = match root.get_header("Message-ID") {
        Some(HVal::Text(s)) if !s.is_empty() => s.clone(),
        _ => {
            let domain_src = if !envelope.from.is_empty() {
                envelope.from.clone()
            } else {
                opts.hostname
                    .clone()
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| "localhost".into())
            };
            let domain = domain_src
                .rsplit('@')
                .next()
                .unwrap_or("localhost")
                .to_string();
            let id = format!(
                "<{}-{}-{}-{}-{}@{}>",
                random_hex(4),
                random_hex(2),
                random_hex(2),
                random_hex(2),
                random_hex(6),
                domain
            );
            root.set_header("Message-ID", HVal::Text(id.clone()));
            id
        }
    };

    // ---- Mail: X-Mailer, priority, List-*
    if let Some(x) = &data.x_mailer {
        let v = match x {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
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

    Ok(Composed {
        root,
        envelope,
        message_id,
        text_encoding,
        keep_bcc: opts.keep_bcc,
        raw_as_is: opts.raw_as_is,
        eight_bit: std::cell::Cell::new(false),
        boundary_base,
        header_key_map,
    })
}

fn address_truthy(a: &AddressInput) -> bool {
    match a {
        AddressInput::Text(s) => !s.is_empty(),
        _ => true,
    }
}

/// `Content-Type` of a `message/*` attachment content: ASCII, no NUL, lines ≤ 998.
fn fits_seven_bit(b: &[u8]) -> bool {
    let mut line = 0usize;
    for &c in b {
        if c == 0 || c > 0x7f {
            return false;
        }
        if c == b'\n' || c == b'\r' {
            line = 0;
        } else {
            line += 1;
            if line > 998 {
                return false;
            }
        }
    }
    true
}

fn build_alternative(
    ctx: &mut Ctx,
    alternatives: &[Element],
    html: Option<usize>,
    use_related: bool,
    related: &[Element],
) -> Result<Node, ComposeError> {
    let id = ctx.next_id();
    let mut node = Node::new(id, Some("multipart/alternative"), None);
    for (i, el) in alternatives.iter().enumerate() {
        if use_related && Some(i) == html {
            node.children
                .push(build_related(ctx, alternatives, html, related)?);
        } else {
            let child = ctx.content_node(el)?;
            node.children.push(child);
        }
    }
    Ok(node)
}

fn build_related(
    ctx: &mut Ctx,
    alternatives: &[Element],
    html: Option<usize>,
    related: &[Element],
) -> Result<Node, ComposeError> {
    let id = ctx.next_id();
    let mut node = Node::new(id, Some("multipart/related; type=\"text/html\""), None);
    if let Some(h) = html.and_then(|i| alternatives.get(i)) {
        let child = ctx.content_node(h)?;
        node.children.push(child);
    }
    for el in related {
        let child = ctx.content_node(el)?;
        node.children.push(child);
    }
    Ok(node)
}

// ---- List-* headers (nodemailer `_getListHeaders`)

fn format_list_url(url: &str) -> String {
    let url: String = url
        .chars()
        .filter(|&c| {
            !((c as u32) <= 0x08
                || c == '\u{b}'
                || c == '\u{c}'
                || ('\u{e}'..='\u{1f}').contains(&c)
                || c == '\u{7f}')
        })
        .filter(|&c| !(c.is_whitespace() || c == '<' || c == '>'))
        .collect();
    let lower = url.to_lowercase();
    if ["http:", "https:", "mailto:", "ftp:"]
        .iter()
        .any(|p| url.starts_with(p) && lower.starts_with(p))
    {
        format!("<{url}>")
    } else if url.matches('@').count() == 1 && !url.starts_with('@') && !url.ends_with('@') {
        format!("<mailto:{url}>")
    } else {
        format!("<http://{url}>")
    }
}

fn list_value(key: &str, v: &serde_json::Value) -> String {
    use serde_json::Value;
    let entry = |v: &Value| -> String {
        let (url, comment) = match v {
            Value::String(s) => (s.clone(), String::new()),
            Value::Object(o) => (
                o.get("url")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                o.get("comment")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ),
            _ => (String::new(), String::new()),
        };
        if url.is_empty() {
            return String::new();
        }
        let had_comment = !comment.is_empty();
        let comment = comment.replace("\r\n", " ").replace(['\r', '\n'], " ");
        let needs_encoding = !enc::is_plain_text(&comment) || comment.contains('\u{7f}');
        if key == "id" {
            let c = if needs_encoding {
                enc::encode_word(&comment, 'Q', 0)
            } else {
                enc::quote_string(&comment)
            };
            let u = format_list_url(&url);
            // strip the scheme: "<http://x>" -> "<x>"
            let u = match u.find(':') {
                Some(p) if u.starts_with('<') => {
                    let rest = u[p + 1..].trim_start_matches('/');
                    let slashes = u[p + 1..].len() - rest.len();
                    if slashes <= 2 {
                        format!("<{rest}")
                    } else {
                        format!("<{}", &u[p + 3..])
                    }
                }
                _ => u,
            };
            format!(
                "{}{u}",
                if had_comment {
                    format!("{c} ")
                } else {
                    String::new()
                }
            )
        } else {
            let c = if needs_encoding {
                enc::encode_word(&comment, 'Q', 0)
            } else {
                comment.chars().fold(String::new(), |mut s, ch| {
                    if matches!(ch, '(' | ')' | '\\') {
                        s.push('\\');
                    }
                    s.push(ch);
                    s
                })
            };
            format!(
                "{}{}",
                format_list_url(&url),
                if had_comment {
                    format!(" ({c})")
                } else {
                    String::new()
                }
            )
        }
    };
    match v {
        Value::Array(a) => a
            .iter()
            .map(entry)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null | Value::Bool(false) => String::new(),
        other => entry(other),
    }
}

fn list_headers(list: &OrderedMap) -> Vec<(String, Vec<String>)> {
    list.0
        .iter()
        .map(|(k, v)| {
            let key = k.to_lowercase().trim().to_string();
            let values = match v {
                serde_json::Value::Array(a) => a.iter().map(|x| list_value(&key, x)).collect(),
                serde_json::Value::Null => Vec::new(),
                other => vec![list_value(&key, other)],
            };
            (format!("list-{key}"), values)
        })
        .collect()
}

// ---- header building and serialisation

/// `Date.prototype.toISOString()`; None for an invalid date.
pub(crate) fn iso_date(ms: f64) -> Option<String> {
    if !ms.is_finite() || ms.abs() > 8.64e15 {
        return None;
    }
    let ms = ms.trunc() as i64;
    let (y, m, d, sod) = civil(ms.div_euclid(1000));
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:06}", -y)
    } else {
        format!("+{y:06}")
    };
    Some(format!(
        "{year}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60,
        ms.rem_euclid(1000)
    ))
}

/// Seconds since the epoch to (year, month, day, second of day): Howard Hinnant's civil_from_days.
fn civil(secs: i64) -> (i64, i64, i64, i64) {
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d, sod)
}

/// `Date.prototype.toUTCString()` with `GMT` replaced by `+0000`.
pub(crate) fn format_date(ms: f64) -> String {
    if !ms.is_finite() || ms.abs() > 8.64e15 {
        return "Invalid Date".into();
    }
    let ms = ms.trunc() as i64;
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    // Howard Hinnant's civil_from_days
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    const WD: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = WD[(days + 4).rem_euclid(7) as usize];
    let year = if y < 0 {
        format!("-{:06}", -y)
    } else {
        format!("{y:04}")
    };
    format!(
        "{wd}, {d:02} {} {year} {:02}:{:02}:{:02} +0000",
        MO[(m - 1) as usize],
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0)
}

fn msg_id_value(s: &str) -> String {
    let mut v: String = s
        .replace("\r\n", " ")
        .replace(['\r', '\n'], " ")
        .chars()
        .filter(|&c| {
            !((c as u32) <= 0x08
                || c == '\u{b}'
                || c == '\u{c}'
                || ('\u{e}'..='\u{1f}').contains(&c)
                || c == '\u{7f}')
        })
        .collect();
    if !v.starts_with('<') {
        v.insert(0, '<');
    }
    if !v.ends_with('>') {
        v.push('>');
    }
    v
}

fn references_value(list: &[String]) -> String {
    let mut ids = Vec::new();
    for entry in list {
        let elm = entry
            .replace("\r\n", " ")
            .replace(['\r', '\n'], " ")
            .chars()
            .filter(|&c| {
                !((c as u32) <= 0x08
                    || c == '\u{b}'
                    || c == '\u{c}'
                    || ('\u{e}'..='\u{1f}').contains(&c)
                    || c == '\u{7f}')
            })
            .collect::<String>();
        let elm = elm.trim().to_string();
        // close up whitespace inside <...>
        let mut closed = String::new();
        let mut rest = elm.as_str();
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open + 1..].find('>') else {
                break;
            };
            let close = open + 1 + close;
            closed.push_str(&rest[..open]);
            closed.extend(rest[open..=close].chars().filter(|c| !c.is_whitespace()));
            rest = &rest[close + 1..];
        }
        closed.push_str(rest);
        for id in closed.split(char::is_whitespace) {
            let mut id = id.to_string();
            if !id.starts_with('<') {
                id.insert(0, '<');
            }
            if !id.ends_with('>') {
                id.push('>');
            }
            ids.push(id);
        }
    }
    ids.join(" ").trim().to_string()
}

/// Prepared values are written as given, but a line break that is not folding whitespace
/// could start a new header: it becomes a space (nodemailer writes it as is).
fn sanitize_prepared(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::with_capacity(v.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\r' || c == '\n' {
            let mut j = i;
            if c == '\r' && chars.get(i + 1) == Some(&'\n') {
                j += 1;
            }
            let folded = matches!(chars.get(j + 1), Some(' ') | Some('\t')) && !out.is_empty();
            if folded {
                out.push_str("\r\n");
            } else {
                out.push(' ');
            }
            i = j + 1;
            continue;
        }
        // NUL is never valid in a header (RFC 5322); nodemailer writes it as is
        if c != '\0' {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// Headers whose value [`Composed::encode_header_value`] writes as unstructured text (RFC 5322
/// 3.2.5), where encoded words may stand for any of it.
fn is_unstructured(key: &str) -> bool {
    !matches!(
        key,
        "From"
            | "Sender"
            | "To"
            | "Cc"
            | "Bcc"
            | "Reply-To"
            | "Message-ID"
            | "In-Reply-To"
            | "Content-ID"
            | "References"
            | "Date"
            | "Content-Type"
            | "Content-Disposition"
            | "Content-Transfer-Encoding"
            | "MIME-Version"
    )
}

fn single_line(s: &str) -> String {
    s.replace("\r\n", " ").replace(['\r', '\n'], " ")
}

impl Composed {
    fn build_headers(
        &self,
        node: &mut Node,
        is_root: bool,
        boundary: &mut Option<String>,
        content_type: &mut String,
    ) -> String {
        let te = node.transfer_encoding(self.text_encoding);
        if let Some(te) = &te {
            node.set_header("Content-Transfer-Encoding", HVal::Text(te.clone()));
        }
        if node.filename.is_some() && node.get_header("Content-Disposition").is_none() {
            node.set_header("Content-Disposition", HVal::Text("attachment".into()));
        }
        if is_root {
            if node.get_header("Date").is_none() {
                node.set_header("Date", HVal::DateMs(now_ms()));
            }
            if node.get_header("MIME-Version").is_none() {
                node.set_header("MIME-Version", HVal::Text("1.0".into()));
            }
            let len = node.headers.len();
            if len >= 2 {
                let mut i = len - 1;
                while i > 0 {
                    i -= 1;
                    if node.headers[i].0 == "Content-Type" {
                        let h = node.headers.remove(i);
                        node.headers.push(h);
                    }
                }
            }
        }
        let mut lines = Vec::new();
        let headers = node.headers.clone();
        for (key, val) in headers {
            let mut text = match &val {
                HVal::Object {
                    value,
                    prepared,
                    fold,
                } if !FORMATTED.contains(&key.as_str()) => {
                    if value.trim().is_empty() {
                        continue;
                    }
                    if *prepared {
                        let line =
                            format!("{}: {}", self.shown_key(&key), sanitize_prepared(value));
                        lines.push(if *fold {
                            enc::fold_lines(&line, 76)
                        } else {
                            line
                        });
                        continue;
                    }
                    value.clone()
                }
                HVal::Object { value, .. } => value.clone(),
                HVal::Text(s) => s.clone(),
                _ => String::new(),
            };
            match key.as_str() {
                "Content-Disposition" => {
                    let mut st = enc::parse_header_value(&text);
                    if let Some(f) = &node.filename {
                        st.set("filename", f);
                    }
                    text = enc::build_header_value(&st);
                }
                "Content-Type" => {
                    let mut st: Structured = enc::parse_header_value(&text);
                    st.value = st
                        .value
                        .chars()
                        .filter(|c| !(*c <= '\u{1f}' || *c == '\u{7f}'))
                        .collect();
                    *content_type = st.value.trim().to_lowercase();
                    if content_type.starts_with("multipart/") {
                        let declared: String = st
                            .get("boundary")
                            .unwrap_or("")
                            .chars()
                            .filter(|c| !(*c <= '\u{1f}' || *c == '\u{7f}'))
                            .collect();
                        let b = if declared.is_empty() {
                            format!("{}-Part_{}", self.boundary_base, node.id)
                        } else {
                            declared
                        };
                        st.set("boundary", &b);
                        *boundary = Some(b);
                    }
                    let is_text_plain = st.value.starts_with("text/plain")
                        && !st.value[10..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
                    if is_text_plain {
                        if let Some(Source::Str(s)) = &node.content {
                            if !s.is_ascii() {
                                st.set("charset", "utf-8");
                            }
                        }
                    }
                    if node.filename.is_some() {
                        st.params
                            .retain(|(k, _)| !(k == "name" || k.starts_with("name*")));
                    }
                    text = enc::build_header_value(&st);
                    if let Some(f) = &node.filename {
                        let has_ctl = f.chars().any(|c| c <= '\u{1f}' || c == '\u{7f}');
                        let forced = self.text_encoding;
                        let mut param = if has_ctl {
                            enc::encode_word(
                                f,
                                forced.unwrap_or_else(|| enc::detect_text_encoding(f)),
                                52,
                            )
                        } else {
                            enc::encode_words(
                                f,
                                forced.unwrap_or_else(|| enc::detect_text_encoding(f)),
                                52,
                            )
                        };
                        if param != *f
                            || param
                                .chars()
                                .any(|c| c.is_whitespace() || "'\"\\;:/=(),<>@[]?".contains(c))
                            || param.starts_with('-')
                        {
                            param = enc::json_quote(&param);
                        }
                        text.push_str("; name=");
                        text.push_str(&param);
                    }
                }
                "Bcc" if !self.keep_bcc => continue,
                _ => {}
            }
            let value = self.encode_header_value(&key, &val, text.clone());
            if value.trim().is_empty() {
                continue;
            }
            let mut folded = enc::fold_lines(&format!("{}: {value}", self.shown_key(&key)), 76);
            if enc::has_overlong_line(&folded) && is_unstructured(&key) {
                // A word too long to fold (nodemailer writes the line as it comes, over 998
                // octets): encoded words split it into folds a reader joins back (RFC 2047 2).
                let text = single_line(&text);
                let forced = self.text_encoding;
                let word = enc::encode_word(
                    &text,
                    forced.unwrap_or_else(|| enc::detect_text_encoding(&text)),
                    52,
                );
                folded = enc::fold_lines(&format!("{}: {word}", self.shown_key(&key)), 76);
            }
            lines.push(folded);
        }
        lines.join("\r\n")
    }

    /// The header name as written: the user's `normalizeHeaderKey` result, if any.
    fn shown_key<'a>(&'a self, key: &'a str) -> &'a str {
        self.header_key_map
            .as_ref()
            .and_then(|m| m.get(key))
            // a name that could end the header line or start a value is never written
            .filter(|k| !k.is_empty() && !k.chars().any(|c| c.is_control() || c == ':'))
            .map(String::as_str)
            .unwrap_or(key)
    }

    fn encode_header_value(&self, key: &str, val: &HVal, text: String) -> String {
        let forced = self.text_encoding;
        match key {
            "From" | "Sender" | "To" | "Cc" | "Bcc" | "Reply-To" => {
                convert_addresses(&parse_addresses(val), None, forced)
            }
            "Message-ID" | "In-Reply-To" | "Content-ID" => {
                if text.is_empty() {
                    String::new()
                } else {
                    msg_id_value(&text)
                }
            }
            "References" => match val {
                HVal::Refs(l) => references_value(l),
                _ if text.is_empty() => String::new(),
                _ => references_value(&[text]),
            },
            "Date" => match val {
                HVal::DateMs(ms) => format_date(*ms),
                _ => enc::encode_header_text(&single_line(&text), forced),
            },
            "Content-Type" | "Content-Disposition" => single_line(&text),
            _ => enc::encode_header_text(&single_line(&text), forced),
        }
    }

    fn serialize(&self, node: &mut Node, is_root: bool, out: &mut Vec<Segment>) {
        if let Some(raw) = node.raw.take() {
            if has_8bit(&raw) {
                self.eight_bit.set(true);
            }
            push_source(out, raw, if self.raw_as_is { Enc::Raw } else { Enc::Lines });
            return;
        }
        let mut boundary = None;
        let mut content_type = String::new();
        let headers = self.build_headers(node, is_root, &mut boundary, &mut content_type);
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
        if let Some(b) = boundary {
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

    /// The From header's addresses as a fresh MimeNode formats them (no forced text encoding),
    /// or None when there is no From header or it holds no address.
    pub(crate) fn sender_header(&self) -> Option<String> {
        let (_, v) = self.root.headers.iter().find(|(k, _)| k == "From")?;
        let s = convert_addresses(&parse_addresses(v), None, None);
        (!s.is_empty()).then_some(s)
    }

    /// The envelope, the Message-ID, the body's segments and whether they hold 8-bit bytes
    /// with no 7-bit form.
    pub(crate) fn into_segments(mut self) -> (Envelope, String, Vec<Segment>, bool) {
        let mut out = Vec::new();
        let mut root = std::mem::replace(&mut self.root, Node::new(0, None, None));
        self.serialize(&mut root, true, &mut out);
        (self.envelope, self.message_id, out, self.eight_bit.get())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso_date(0.0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            iso_date(1577934245123.0).as_deref(),
            Some("2020-01-02T03:04:05.123Z")
        );
        assert_eq!(iso_date(f64::NAN), None);
    }

    #[test]
    fn dates_match_to_utc_string() {
        assert_eq!(format_date(0.0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            format_date(1577934245000.0),
            "Thu, 02 Jan 2020 03:04:05 +0000"
        );
        assert_eq!(
            format_date(951782400000.0),
            "Tue, 29 Feb 2000 00:00:00 +0000"
        );
        assert_eq!(format_date(f64::NAN), "Invalid Date");
    }

    #[test]
    fn mime_types() {
        assert_eq!(detect_mime_type("file.PDF"), "application/pdf");
        assert_eq!(detect_mime_type("bin"), "application/octet-stream");
        assert_eq!(detect_mime_type("a.png?x=1"), "image/png");
        assert_eq!(detect_extension("application/octet-stream"), "*");
        assert_eq!(detect_extension("text/plain"), "txt");
        assert_eq!(detect_extension("image/png"), "png");
    }

    #[test]
    fn list_header_values() {
        let l: OrderedMap = serde_json::from_str(
            r#"{"help":"admin@example.com?subject=help","unsubscribe":[{"url":"http://example.com","comment":"Comment"},"unsub@example.com"],"id":{"url":"mylist.example.com","comment":"This is my awesome list"},"post":[["http://example.com/post","admin@example.com?subject=post"]]}"#,
        )
        .unwrap();
        let h = list_headers(&l);
        assert_eq!(
            h[0],
            (
                "list-help".into(),
                vec!["<mailto:admin@example.com?subject=help>".into()]
            )
        );
        assert_eq!(
            h[1].1,
            vec![
                "<http://example.com> (Comment)".to_string(),
                "<mailto:unsub@example.com>".into()
            ]
        );
        assert_eq!(
            h[2].1,
            vec!["\"This is my awesome list\" <mylist.example.com>".to_string()]
        );
        assert_eq!(
            h[3].1,
            vec!["<http://example.com/post>, <mailto:admin@example.com?subject=post>".to_string()]
        );
    }

    #[test]
    fn prepared_values_cannot_start_headers() {
        assert_eq!(sanitize_prepared("a\r\nBcc: x@y"), "a Bcc: x@y");
        assert_eq!(sanitize_prepared("a\r\n b"), "a\r\n b");
        assert_eq!(sanitize_prepared("a\0b\nX-Y: 1"), "ab X-Y: 1");
    }

    #[test]
    fn random_hex_is_hex_of_the_asked_length_and_does_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        // more than one 512-byte block, with lengths that straddle block ends
        for i in 0..2000 {
            let n = 1 + i % 13;
            let h = random_hex(n);
            assert_eq!(h.len(), n * 2);
            assert!(h
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            if n >= 8 {
                assert!(seen.insert(h), "repeated value");
            }
        }
        // not all zero: wiped bytes are never handed out
        assert!((0..50).any(|_| random_hex(16) != "0".repeat(32)));
    }
}
