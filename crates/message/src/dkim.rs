//! DKIM signing (RFC 6376, relaxed/relaxed) as nodemailer's `dkim` option does it: the same
//! default header list, `headerFieldNames` / `skipFields`, one `DKIM-Signature` per key prepended
//! in key order, the same tag order and folding.
//!
//! Written on `rsa` / `ed25519-dalek` / `sha2` rather than taken from `mail-auth`: its signer
//! needs the whole message in memory and picks its own header list and tags, while here the body
//! is hashed as it streams and bodies above `cacheTreshold` go to a temp file, as nodemailer does.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;

use base64::Engine as _;
use bytes::Bytes;
use futures_core::Stream;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::body::{Enc, Lazy, MessageBody, Segment};
use crate::ComposeError;

/// nodemailer's default signed fields (RFC 4871 section 5.5 plus List-Unsubscribe-Post and OTP-Token).
pub const DEFAULT_FIELD_NAMES: &str = "From:Sender:Reply-To:Subject:Date:Message-ID:To:\
Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:Content-ID:\
Content-Description:Resent-Date:Resent-From:Resent-Sender:\
Resent-To:Resent-Cc:Resent-Message-ID:In-Reply-To:References:\
List-Id:List-Help:List-Unsubscribe:List-Unsubscribe-Post:List-Subscribe:List-Post:\
List-Owner:List-Archive:OTP-Token";

/// Bodies at least this long are spooled to `cacheDir` (nodemailer's `MAX_MESSAGE_SIZE`).
pub const DEFAULT_CACHE_TRESHOLD: u64 = 2 * 1024 * 1024;

/// A parsed private key.
#[derive(Clone)]
enum KeyMaterial {
    Rsa(Box<rsa::PrivateKey>),
    Ed25519(Box<ed25519_dalek::SigningKey>),
    /// Could not be read: like nodemailer, the message goes out without this signature.
    Invalid,
}

/// One signing identity (`{domainName, keySelector, privateKey}`).
#[derive(Clone)]
pub struct DkimKey {
    pub domain_name: String,
    pub key_selector: String,
    key: KeyMaterial,
}

impl std::fmt::Debug for DkimKey {
    // never print key material
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.key {
            KeyMaterial::Rsa(_) => "rsa",
            KeyMaterial::Ed25519(_) => "ed25519",
            KeyMaterial::Invalid => "invalid",
        };
        f.debug_struct("DkimKey")
            .field("domain_name", &self.domain_name)
            .field("key_selector", &self.key_selector)
            .field("key", &kind)
            .finish()
    }
}

impl DkimKey {
    /// Parses a PEM private key: PKCS#1 or PKCS#8 RSA, or PKCS#8 Ed25519. An unreadable key is
    /// kept (and skipped when signing, as nodemailer skips it); see [`DkimKey::is_valid`].
    pub fn new(domain_name: &str, key_selector: &str, private_key_pem: &str) -> Self {
        DkimKey {
            domain_name: domain_name.to_string(),
            key_selector: key_selector.to_string(),
            key: parse_key(private_key_pem),
        }
    }

    pub fn is_valid(&self) -> bool {
        !matches!(self.key, KeyMaterial::Invalid)
    }
}

fn parse_key(pem: &str) -> KeyMaterial {
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    // keys pasted from files or env vars often carry CRLF or surrounding blanks
    let pem = pem.trim().replace("\r\n", "\n");
    if let Ok(k) = rsa::PrivateKey::from_pkcs1_pem(&pem) {
        return KeyMaterial::Rsa(Box::new(k));
    }
    if let Ok(k) = <rsa::PrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_pem(&pem) {
        return KeyMaterial::Rsa(Box::new(k));
    }
    if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem) {
        return KeyMaterial::Ed25519(Box::new(k));
    }
    KeyMaterial::Invalid
}

/// nodemailer's `dkim` options.
#[derive(Debug, Clone)]
pub struct DkimOptions {
    pub keys: Vec<DkimKey>,
    /// colon separated; `None`: [`DEFAULT_FIELD_NAMES`]
    pub header_field_names: Option<String>,
    /// colon separated names left out of the signature
    pub skip_fields: Option<String>,
    /// where bodies above the threshold are spooled; `None`: the OS temp dir
    pub cache_dir: Option<PathBuf>,
    pub cache_treshold: u64,
}

impl Default for DkimOptions {
    fn default() -> Self {
        DkimOptions {
            keys: Vec::new(),
            header_field_names: None,
            skip_fields: None,
            cache_dir: None,
            cache_treshold: DEFAULT_CACHE_TRESHOLD,
        }
    }
}

fn config_error(message: impl Into<String>) -> ComposeError {
    ComposeError::new("ECONFIG", message)
}

/// JS truthiness of a JSON value (nodemailer tests options with `||`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `(value || '').toString()` for the values a JSON option can hold.
fn js_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(true)) => "true".into(),
        _ => String::new(),
    }
}

/// A private key as a string, a Buffer (byte array or its JSON form) or `{ key }`.
fn key_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|b| b.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            bytes.map(|b| String::from_utf8_lossy(&b).into_owned())
        }
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("Buffer") => {
            key_text(o.get("data"))
        }
        // `{ key, passphrase }`: encrypted keys are not supported, so a passphrase makes it invalid
        Value::Object(o) if o.get("passphrase").is_none_or(|p| !truthy(p)) => {
            key_text(o.get("key"))
        }
        _ => None,
    }
}

fn key_from_json(v: &Value) -> DkimKey {
    let text = key_text(v.get("privateKey")).unwrap_or_default();
    DkimKey::new(
        &js_string(v.get("domainName")),
        &js_string(v.get("keySelector")),
        &text,
    )
}

fn optional_text(v: Option<&Value>) -> Option<String> {
    v.filter(|v| truthy(v)).map(|v| js_string(Some(v)))
}

impl DkimOptions {
    /// Reads nodemailer's option object. `Ok(None)` for a falsy value (no signing), `ECONFIG` for
    /// a value that is not an object or a `hashAlgo` other than sha256.
    pub fn from_json(v: &Value) -> Result<Option<DkimOptions>, ComposeError> {
        if !truthy(v) {
            return Ok(None);
        }
        let Value::Object(o) = v else {
            return Err(config_error("Invalid DKIM options: expected an object"));
        };
        if let Some(algo) = o.get("hashAlgo").filter(|a| truthy(a)) {
            let algo = js_string(Some(algo));
            // rsa-sha1 is forbidden for signers by RFC 8301; node knows other hashes, but DKIM
            // defines none
            if !algo.eq_ignore_ascii_case("sha256") {
                return Err(config_error(format!(
                    "Unsupported DKIM hash algorithm \"{algo}\""
                )));
            }
        }
        let keys = match o.get("keys").filter(|k| truthy(k)) {
            Some(Value::Array(list)) => list.iter().map(key_from_json).collect(),
            Some(one) => vec![key_from_json(one)],
            None => vec![key_from_json(v)],
        };
        let cache_treshold = match o.get("cacheTreshold") {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let cache_treshold = match cache_treshold {
            Some(n) if n.is_nan() || n == 0.0 => DEFAULT_CACHE_TRESHOLD,
            Some(n) if n < 0.0 => 0,
            Some(n) => n.min(u64::MAX as f64) as u64,
            None => DEFAULT_CACHE_TRESHOLD,
        };
        Ok(Some(DkimOptions {
            keys,
            header_field_names: optional_text(o.get("headerFieldNames")),
            skip_fields: optional_text(o.get("skipFields")),
            cache_dir: optional_text(o.get("cacheDir")).map(PathBuf::from),
            cache_treshold,
        }))
    }

    /// `selector.domain` of the keys that could not be read (for a warning; no key material).
    pub fn invalid_keys(&self) -> Vec<String> {
        self.keys
            .iter()
            .filter(|k| !k.is_valid())
            .map(|k| format!("{}.{}", k.key_selector, k.domain_name))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Canonicalisation

/// Relaxed body canonicalisation (RFC 6376 section 3.4.4) fed chunk by chunk: WSP runs become one SP,
/// trailing WSP and trailing empty lines go, a bare LF counts as a line break (the SMTP writer
/// sends it as CRLF) and a last line without one gets CRLF. Written here because it must keep
/// its state across chunks of a stream.
#[derive(Default)]
pub struct RelaxedBody {
    hash: Sha256,
    pending_wsp: bool,
    pending_cr: bool,
    pending_empty_lines: usize,
    line_has_content: bool,
}

impl RelaxedBody {
    pub fn new() -> Self {
        Self::default()
    }

    fn content(&mut self, out: &mut Vec<u8>, b: u8) {
        for _ in 0..std::mem::take(&mut self.pending_empty_lines) {
            out.extend_from_slice(b"\r\n");
        }
        if std::mem::take(&mut self.pending_wsp) {
            out.push(b' ');
        }
        out.push(b);
        self.line_has_content = true;
    }

    /// The canonical bytes of `chunk` (what goes into the hash).
    pub fn canonicalize(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len() + 8);
        for &b in chunk {
            if b == b'\n' {
                if self.line_has_content {
                    out.extend_from_slice(b"\r\n");
                    self.line_has_content = false;
                } else {
                    self.pending_empty_lines += 1;
                }
                self.pending_wsp = false;
                self.pending_cr = false;
                continue;
            }
            if std::mem::take(&mut self.pending_cr) {
                // not followed by LF: the CR is content
                self.content(&mut out, b'\r');
            }
            match b {
                b'\r' => self.pending_cr = true,
                b' ' | b'\t' => self.pending_wsp = true,
                _ => self.content(&mut out, b),
            }
        }
        out
    }

    pub fn update(&mut self, chunk: &[u8]) {
        let c = self.canonicalize(chunk);
        self.hash.update(&c);
    }

    /// The canonical bytes still held back at the end of the body.
    pub fn finish_bytes(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if std::mem::take(&mut self.pending_cr) {
            self.content(&mut out, b'\r');
        }
        if self.line_has_content {
            out.extend_from_slice(b"\r\n");
            self.line_has_content = false;
        }
        out
    }

    /// Base64 SHA-256 of the canonical body (the `bh=` value).
    pub fn finish(mut self) -> String {
        let tail = self.finish_bytes();
        self.hash.update(&tail);
        base64::engine::general_purpose::STANDARD.encode(self.hash.finalize())
    }
}

/// One header field as it appeared: lowercased name and the unfolded line (folds kept as `\n`).
#[derive(Debug, Clone, PartialEq)]
struct HeaderLine {
    key: String,
    line: Vec<u8>,
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_wsp(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_wsp(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_wsp(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Splits a raw header block into fields, joining continuation lines.
fn parse_headers(raw: &[u8]) -> Vec<HeaderLine> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for line in raw.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match (lines.last_mut(), line.first()) {
            (Some(prev), Some(&c)) if is_wsp(c) => {
                prev.push(b'\n');
                prev.extend_from_slice(line);
            }
            _ => lines.push(line.to_vec()),
        }
    }
    lines
        .into_iter()
        .filter(|l| l.iter().any(|&b| !is_wsp(b) && b != b'\r'))
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let key = String::from_utf8_lossy(trim_wsp(&line[..colon])).to_ascii_lowercase();
            Some(HeaderLine { key, line })
        })
        .collect()
}

/// Relaxed header value (RFC 6376 section 3.4.2): unfolded, WSP runs as one SP, no WSP at either end.
fn relaxed_value(line: &[u8]) -> Vec<u8> {
    let value = match line.iter().position(|&b| b == b':') {
        Some(i) => &line[i + 1..],
        None => line,
    };
    let mut out = Vec::with_capacity(value.len());
    let mut wsp = false;
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b == b'\n' || (b == b'\r' && value.get(i + 1) == Some(&b'\n')) {
            // unfolding: the line break itself goes, the WSP after it stays
            i += if b == b'\r' { 2 } else { 1 };
            continue;
        }
        if is_wsp(b) {
            wsp = true;
        } else {
            if wsp && !out.is_empty() {
                out.push(b' ');
            }
            wsp = false;
            out.push(b);
        }
        i += 1;
    }
    out
}

/// The canonical header data for the signed fields and the `h=` list. Fields are taken in
/// `field_names` order, each once (its last occurrence), minus `skip_fields`, as nodemailer.
fn relaxed_headers(
    headers: &[HeaderLine],
    field_names: &str,
    skip_fields: &str,
) -> (Vec<u8>, String) {
    let skip: Vec<String> = skip_fields
        .to_ascii_lowercase()
        .split(':')
        .map(|f| f.trim().to_string())
        .collect();
    let mut included: Vec<String> = Vec::new();
    for f in field_names.to_ascii_lowercase().split(':') {
        let f = f.trim().to_string();
        if !f.is_empty() && !skip.contains(&f) && !included.contains(&f) {
            included.push(f);
        }
    }
    let mut data = Vec::new();
    let mut names = Vec::new();
    for field in &included {
        if let Some(h) = headers.iter().rev().find(|h| &h.key == field) {
            data.extend_from_slice(field.as_bytes());
            data.push(b':');
            data.extend_from_slice(&relaxed_value(&h.line));
            data.extend_from_slice(b"\r\n");
            names.push(field.as_str());
        }
    }
    (data, names.join(":"))
}

/// Drops what would end a tag value early or break the header line (nodemailer `cleanTagValue`).
fn clean_tag_value(s: &str) -> String {
    s.chars()
        .filter(|&c| !(c.is_ascii_control() || c == ';' || c == '='))
        .collect()
}

/// Folds the base64 signature as nodemailer: 73 characters after ` b=`, then 75 per line.
fn fold_signature(sig: &str) -> String {
    let mut out = String::with_capacity(sig.len() + sig.len() / 25);
    let mut rest = sig;
    let mut width = 73;
    while rest.len() > width {
        let (line, tail) = rest.split_at(width);
        out.push_str(line);
        out.push_str("\r\n ");
        rest = tail;
        width = 75;
    }
    out.push_str(rest);
    out
}

/// The `DKIM-Signature` field (with CRLF) for one key, or `None` if the key cannot sign.
fn signature_field(
    headers: &[HeaderLine],
    body_hash: &str,
    key: &DkimKey,
    opts: &DkimOptions,
) -> Option<String> {
    let algo = match key.key {
        KeyMaterial::Rsa(_) => "rsa-sha256",
        KeyMaterial::Ed25519(_) => "ed25519-sha256",
        KeyMaterial::Invalid => return None,
    };
    let field_names = opts
        .header_field_names
        .as_deref()
        .unwrap_or(DEFAULT_FIELD_NAMES);
    let (mut data, names) = relaxed_headers(
        headers,
        field_names,
        opts.skip_fields.as_deref().unwrap_or(""),
    );
    let domain = crate::address::normalize_domain(&clean_tag_value(&key.domain_name), false);
    let tags = format!(
        "v=1; a={algo}; c=relaxed/relaxed; d={domain}; q=dns/txt; s={}; bh={body_hash}; h={}",
        clean_tag_value(&key.key_selector),
        clean_tag_value(&names)
    );
    let mut field = crate::encoding::fold_lines(&format!("DKIM-Signature: {tags}"), 76);
    field.push_str(";\r\n b=");
    data.extend_from_slice(b"dkim-signature:");
    data.extend_from_slice(&relaxed_value(field.as_bytes()));
    let signature = match &key.key {
        KeyMaterial::Rsa(k) => k.pkcs1v15_sign::<Sha256>(&data).ok()?,
        KeyMaterial::Ed25519(k) => {
            use ed25519_dalek::Signer as _;
            // RFC 8463: Ed25519 over the SHA-256 of the canonical data
            k.sign(&Sha256::digest(&data)).to_bytes().to_vec()
        }
        KeyMaterial::Invalid => return None,
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(signature);
    field.push_str(&fold_signature(&b64));
    field.push_str("\r\n");
    Some(field)
}

/// The `DKIM-Signature` fields (each with CRLF, in key order) for a message whose header block is
/// `raw_headers` and whose body hashes to `body_hash`.
fn signature_fields(raw_headers: &[u8], body_hash: &str, opts: &DkimOptions) -> String {
    let headers = parse_headers(raw_headers);
    opts.keys
        .iter()
        .filter_map(|k| signature_field(&headers, body_hash, k, opts))
        .collect()
}

/// Signs a whole in-memory message (headers, blank line, body): the signature fields followed by
/// the message, unchanged.
pub fn sign_bytes(message: &[u8], opts: &DkimOptions) -> Vec<u8> {
    let end = find_header_end(message, 0).unwrap_or(message.len());
    let mut hasher = RelaxedBody::new();
    hasher.update(&message[end..]);
    let fields = signature_fields(&message[..end], &hasher.finish(), opts);
    let mut out = Vec::with_capacity(fields.len() + message.len());
    out.extend_from_slice(fields.as_bytes());
    out.extend_from_slice(message);
    out
}

/// The offset just past the blank line that ends the header block (`\n\n` or `\n\r\n`), looking
/// at line feeds from index `from` on.
fn find_header_end(buf: &[u8], from: usize) -> Option<usize> {
    (from.max(1)..buf.len()).find_map(|i| {
        let ends = buf[i] == b'\n'
            && (buf[i - 1] == b'\n' || (buf[i - 1] == b'\r' && i >= 2 && buf[i - 2] == b'\n'));
        ends.then_some(i + 1)
    })
}

// ---------------------------------------------------------------------------------------------
// Streaming

/// Keeps the spooled body's temp file alive until the last body chunk is dropped.
struct CacheTail {
    data: Bytes,
    _file: tempfile::TempPath,
}

impl AsRef<[u8]> for CacheTail {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// The body as it streams in: kept in memory up to the threshold, the rest in a temp file.
struct Spool {
    mem: Vec<Bytes>,
    mem_len: u64,
    threshold: u64,
    dir: PathBuf,
    file: Option<(tokio::fs::File, tempfile::TempPath)>,
    /// Held back from the file: it becomes the chunk that owns the temp file (see `CacheTail`).
    last: Option<Bytes>,
}

fn cache_error(e: io::Error) -> ComposeError {
    ComposeError::new("ESTREAM", format!("DKIM cache: {e}"))
}

impl Spool {
    async fn push(&mut self, chunk: Bytes) -> Result<(), ComposeError> {
        if self.last.is_none() && self.mem_len < self.threshold {
            self.mem_len += chunk.len() as u64;
            self.mem.push(chunk);
            return Ok(());
        }
        let Some(prev) = self.last.replace(chunk) else {
            return Ok(());
        };
        if self.file.is_none() {
            // 0600, as nodemailer's cache file: cacheDir is often a shared directory
            let named = tempfile::Builder::new()
                .prefix("message.")
                .tempfile_in(&self.dir)
                .map_err(cache_error)?;
            let (file, path) = named.into_parts();
            self.file = Some((tokio::fs::File::from_std(file), path));
        }
        if let Some((file, _)) = self.file.as_mut() {
            file.write_all(&prev).await.map_err(cache_error)?;
        }
        Ok(())
    }

    async fn into_segments(self) -> Result<Vec<Segment>, ComposeError> {
        let mut segments: Vec<Segment> = self.mem.into_iter().map(Segment::Bytes).collect();
        match (self.file, self.last) {
            (Some((mut file, path)), Some(last)) => {
                file.flush().await.map_err(cache_error)?;
                drop(file);
                segments.push(Segment::Lazy {
                    src: Lazy::File(path.to_path_buf()),
                    enc: Enc::Raw,
                });
                segments.push(Segment::Bytes(Bytes::from_owner(CacheTail {
                    data: last,
                    _file: path,
                })));
            }
            (_, Some(last)) => segments.push(Segment::Bytes(last)),
            (_, None) => {}
        }
        Ok(segments)
    }
}

/// A body read error with the code the binding gives it when sending unsigned (a fetch keeps
/// its code, a file open error is EFILEACCESS).
fn read_error(e: io::Error) -> ComposeError {
    ComposeError::new(crate::io_error_code(&e), e.to_string())
}

/// Signs a composed message: reads `body` once (hashing the body as it streams; bodies of
/// `cache_treshold` bytes or more continue into a temp file under `cache_dir`, removed once the
/// returned body is consumed or dropped) and returns a body that starts with one
/// `DKIM-Signature` field per usable key, followed by the message unchanged.
pub async fn sign(mut body: MessageBody, opts: &DkimOptions) -> Result<MessageBody, ComposeError> {
    // the signature covers the bytes as sent: 8-bit parts take their 7-bit form now, not
    // per server later
    body.fix_seven_bit();
    let eight_bit = body.is_eight_bit();
    let mut head: Vec<u8> = Vec::new();
    let mut header_end: Option<usize> = None;
    let mut hasher = RelaxedBody::new();
    let mut spool = Spool {
        mem: Vec::new(),
        mem_len: 0,
        threshold: opts.cache_treshold,
        dir: opts.cache_dir.clone().unwrap_or_else(std::env::temp_dir),
        file: None,
        last: None,
    };
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await {
        let chunk = chunk.map_err(read_error)?;
        if header_end.is_some() {
            hasher.update(&chunk);
            spool.push(chunk).await?;
            continue;
        }
        let from = head.len();
        head.extend_from_slice(&chunk);
        if let Some(end) = find_header_end(&head, from) {
            let rest = head.split_off(end);
            header_end = Some(end);
            if !rest.is_empty() {
                hasher.update(&rest);
                spool.push(Bytes::from(rest)).await?;
            }
        }
    }
    // no blank line: all of it is header, the body is empty (as nodemailer)
    let hash = hasher.finish();
    // RSA signing takes a millisecond or more per key: on a runtime, it runs on the blocking
    // pool, not on the thread that carries every connection's I/O.
    let (head, fields) = match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            let opts = opts.clone();
            rt.spawn_blocking(move || {
                let fields = signature_fields(&head, &hash, &opts);
                (head, fields)
            })
            .await
            .map_err(|_| ComposeError::new("EMESSAGE", "DKIM signing did not complete"))?
        }
        Err(_) => {
            let fields = signature_fields(&head, &hash, opts);
            (head, fields)
        }
    };
    let mut segments = vec![
        Segment::Bytes(Bytes::from(fields)),
        Segment::Bytes(Bytes::from(head)),
    ];
    segments.extend(spool.into_segments().await?);
    Ok(MessageBody::new(segments).with_eight_bit(eight_bit))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test-only keys, generated for these fixtures; they sign nothing real. The expected
    // signatures below were produced once by nodemailer 10.6.1's own signer (lib/dkim via
    // `new DKIM(opts).sign(FX_MESSAGE)` in node); the Ed25519 one by node's crypto over the
    // canonical data nodemailer's relaxedHeaders/foldLines produce (nodemailer signs RSA only).
    const FX_PKCS1: &str = "-----BEGIN RSA PRIVATE KEY-----
MIICXQIBAAKBgQDbQDC4RUw1gAv+9VueLKmzkc0NAKcOTdqek7l1ZTGmvHTU5hAK
8zBwaEpuBDec2VJlXt8vyeHAVO0GNsy6STPXGqEzVrTBSEoT1XPSyi31P5jUoS8V
nM8fAuOyktcJmt+XTLyROL5MvPe9GrPyK39Y7NcJ256Urlo40yqs6xFskwIDAQAB
AoGAbg4lponafEx/OQbua1KeCK5aUHmQYcTAxbL/eCdIqhqVRr0JNoXmPbaMDfd9
9vS7wHjD7ZgYAtReei0NzUCrjRMuYuOapg45/S9UDbEgfTZdu76LV1BcNgQ3xYlV
kxXz31tSmTOJV/K6JAFb3Q9IlXtMEXWFM0pBen0NkFsvgSkCQQD00tFn6jkH/ZfK
VCbO6jMEPH/NunV9belQnVyVgXMw7S9TmclLrwZ9+wbQ7sv0CPOp6ei2LYFTvFQQ
LYOhmzn/AkEA5UKCwbret2hbIah8DzNOIqdXArLXs/ZqkiEn84VBiG/DBPztB2Wk
PB9r18xGMu+rgl4XybI4FLDUMKCPyqhFbQJBANGYpvRq3raLkecDElJ0yIZo8RWE
+08NyQBeKERKlf6eILVW5LGpv0odneFDf1KGU2z1N2i4Ho88nU9YV+gEB6sCQQCe
vl4RzNYYQw8PED3OvKS2xA4wlStcthx20LR8H2IQGer8kjGB9LQy2ULwKsbU0DV+
0K5B/8BrO0HB5fuKxNdFAkBMhdPSglYCMefAtmgVY4vUS7lP8GrBnZT6PyytZ/PA
NsDubR4JWZNCRgTtOjq3B8FojL7d9DCFJKLYP1gYzWla
-----END RSA PRIVATE KEY-----
";
    // the same key as PKCS#8
    const FX_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBANtAMLhFTDWAC/71
W54sqbORzQ0Apw5N2p6TuXVlMaa8dNTmEArzMHBoSm4EN5zZUmVe3y/J4cBU7QY2
zLpJM9caoTNWtMFIShPVc9LKLfU/mNShLxWczx8C47KS1wma35dMvJE4vky8970a
s/Irf1js1wnbnpSuWjjTKqzrEWyTAgMBAAECgYBuDiWmidp8TH85Bu5rUp4IrlpQ
eZBhxMDFsv94J0iqGpVGvQk2heY9towN93329LvAeMPtmBgC1F56LQ3NQKuNEy5i
45qmDjn9L1QNsSB9Nl27votXUFw2BDfFiVWTFfPfW1KZM4lX8rokAVvdD0iVe0wR
dYUzSkF6fQ2QWy+BKQJBAPTS0WfqOQf9l8pUJs7qMwQ8f826dX1t6VCdXJWBczDt
L1OZyUuvBn37BtDuy/QI86np6LYtgVO8VBAtg6GbOf8CQQDlQoLBut63aFshqHwP
M04ip1cCstez9mqSISfzhUGIb8ME/O0HZaQ8H2vXzEYy76uCXhfJsjgUsNQwoI/K
qEVtAkEA0Zim9GretouR5wMSUnTIhmjxFYT7Tw3JAF4oREqV/p4gtVbksam/Sh2d
4UN/UoZTbPU3aLgejzydT1hX6AQHqwJBAJ6+XhHM1hhDDw8QPc68pLbEDjCVK1y2
HHbQtHwfYhAZ6vySMYH0tDLZQvAqxtTQNX7QrkH/wGs7QcHl+4rE10UCQEyF09KC
VgIx58C2aBVji9RLuU/wasGdlPo/LK1n88A2wO5tHglZk0JGBO06OrcHwWiMvt30
MIUkotg/WBjNaVo=
-----END PRIVATE KEY-----
";
    const FX_ED25519: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIK/8zhglGSc1VuqCrFVPRnqz/vjVwpfI4HrmnEsgkN71
-----END PRIVATE KEY-----
";
    const FX_MESSAGE: &str = "From: Sender Name <sender@example.com>\r\n\
To: a@example.org,\r\n  \tb@example.org\r\n\
Subject:   Hello \t  world  \r\n\
Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
Message-ID: <fixture@example.com>\r\n\
X-Other: not signed\r\n\
subject: second subject wins\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
Line  one \t \r\n\
\tindented\r\n\
\r\n\
last line\r\n\
\r\n \r\n\r\n";
    // {domainName: 'example.com', keySelector: 'test', privateKey: FX_PKCS1}
    const FX_SIG_A: &str = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;\r\n q=dns/txt; s=test; bh=GprPZa2DEkv8E1QCU/Wpf0FiS2HI8hrkuKGHLWajVc8=;\r\n h=from:subject:date:message-id:to:mime-version:content-type:content-transfer-encoding;\r\n b=o4vNjeNEL9DcumXJMJdImXRQGZoi6bbKB/R5kru8U/hE2p1DRiv0vew0Cx3B6SlRFsI8bJw8x\r\n +fLjfeUyOit/LkBZarEt9cKyemijR1H4XDyIVgDPYdUC7ocXUHjRI65YjteYPIo2XJ6xmtMFN8q\r\n KRFRHsXGLDz8MjxXo0K/V/A=\r\n";
    // {keys: [{example.com, one, FX_PKCS8}, {müller.example, two, FX_PKCS1}],
    //  headerFieldNames: 'From:To:Subject:X-Other:Date', skipFields: 'date'}
    const FX_SIG_B: &str = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;\r\n q=dns/txt; s=one; bh=GprPZa2DEkv8E1QCU/Wpf0FiS2HI8hrkuKGHLWajVc8=;\r\n h=from:to:subject:x-other;\r\n b=u4YXZxGwXDFAVV6RvnImlt61H/mDY261hnmCwyvt4zo+CyBhh2LjjpjVTCEZtz+MnpY0f/NM0\r\n 8s+XWxBtRqKWk0DwqGfwtkD7Kc7pvNqDTFhA8kO+Opbs9MPDU/RGl+yyjUpxKHuDuhU2RDclbYr\r\n thVZRfEp4SfKhdBapRH0QWA=\r\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n d=xn--mller-kva.example; q=dns/txt; s=two;\r\n bh=GprPZa2DEkv8E1QCU/Wpf0FiS2HI8hrkuKGHLWajVc8=; h=from:to:subject:x-other;\r\n b=ah5K6cFJwMeWiGutjhSg836O6jMrLp8xj1NXzoOdtRVGsGlRQoN7q06Qph6erSNULVza6Vlhj\r\n 6Tp7ugEYedMRjaDL1s4fU+XIhKgFxWHvfX+ubFRGk4T8xJ5XjQQJvN73+6GfurCd3O365OSul8y\r\n 9T7vQzN10mb6/bXXbx0ahfs=\r\n";
    // {domainName: 'example.com', keySelector: 'ed', privateKey: FX_ED25519,
    //  headerFieldNames: (RFC 4871 list up to Content-Transfer-Encoding)}
    const FX_SIG_ED: &str = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;\r\n q=dns/txt; s=ed; bh=GprPZa2DEkv8E1QCU/Wpf0FiS2HI8hrkuKGHLWajVc8=;\r\n h=from:subject:date:message-id:to:mime-version:content-type:content-transfer-encoding;\r\n b=/uYOujnljg/GzC7a8J5otSZ8hSRA7SQ/m3X4ZUWhUklPwpu/sMuhl68b/yWpjP+R4dsNdVwN/\r\n FpJCK79z8tZBw==\r\n";

    fn opts_a() -> DkimOptions {
        DkimOptions {
            keys: vec![DkimKey::new("example.com", "test", FX_PKCS1)],
            ..Default::default()
        }
    }

    fn body_of(parts: &[&[u8]]) -> MessageBody {
        MessageBody::new(
            parts
                .iter()
                .map(|p| Segment::Bytes(Bytes::copy_from_slice(p)))
                .collect(),
        )
    }

    fn canon_body(data: &[u8]) -> Vec<u8> {
        let mut r = RelaxedBody::new();
        let mut out = r.canonicalize(data);
        out.extend(r.finish_bytes());
        out
    }

    #[test]
    fn rfc6376_3_4_5_relaxed_headers() {
        let headers = parse_headers(b"A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n");
        let (data, names) = relaxed_headers(&headers, "A:B", "");
        assert_eq!(String::from_utf8(data).unwrap(), "a:X\r\nb:Y Z\r\n");
        assert_eq!(names, "a:b");
    }

    #[test]
    fn rfc6376_3_4_5_relaxed_body() {
        assert_eq!(canon_body(b" C \r\nD \t E\r\n\r\n\r\n"), b" C\r\nD E\r\n");
    }

    #[test]
    fn relaxed_body_edge_cases() {
        assert_eq!(canon_body(b""), b"");
        assert_eq!(canon_body(b"\r\n\r\n \t\r\n"), b"");
        // a missing final line break is added; bare LF counts as one
        assert_eq!(canon_body(b"a \t"), b"a\r\n");
        assert_eq!(canon_body(b"a\n\nb\n"), b"a\r\n\r\nb\r\n");
        // a CR not followed by LF is content
        assert_eq!(canon_body(b"a\rb\r\n"), b"a\rb\r\n");
        assert_eq!(canon_body(b"a\r"), b"a\r\r\n");
        // empty body: sha256("")
        assert_eq!(
            RelaxedBody::new().finish(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn relaxed_body_same_for_every_split() {
        let data = b" C \r\nD \t E\r\n\r\n\r\nF\r\r\n \t\nx  \r\n\r\n";
        let whole = canon_body(data);
        for i in 0..=data.len() {
            for j in i..=data.len() {
                let mut r = RelaxedBody::new();
                let mut out = r.canonicalize(&data[..i]);
                out.extend(r.canonicalize(&data[i..j]));
                out.extend(r.canonicalize(&data[j..]));
                out.extend(r.finish_bytes());
                assert_eq!(out, whole, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn header_parsing_unfolds_and_keeps_last_instance() {
        let h = parse_headers(b"To: a,\r\n\tb\r\nX:1\r\nno colon\r\n  \r\nx : 2\r\n\r\n");
        let keys: Vec<&str> = h.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, ["to", "x", "x"]);
        assert_eq!(h[0].line, b"To: a,\n\tb");
        let (data, names) = relaxed_headers(&h, "to:x:missing", "");
        assert_eq!(String::from_utf8(data).unwrap(), "to:a, b\r\nx:2\r\n");
        assert_eq!(names, "to:x");
        // skipFields, case and blanks in the lists, duplicates
        let (data, names) = relaxed_headers(&h, " TO : X :to", "x");
        assert_eq!(String::from_utf8(data).unwrap(), "to:a, b\r\n");
        assert_eq!(names, "to");
    }

    #[test]
    fn signature_folding() {
        let sig = "a".repeat(73 + 75 + 10);
        let f = fold_signature(&sig);
        let lines: Vec<&str> = f.split("\r\n ").collect();
        assert_eq!(
            lines.iter().map(|l| l.len()).collect::<Vec<_>>(),
            [73, 75, 10]
        );
        assert_eq!(fold_signature("abc"), "abc");
        assert_eq!(fold_signature(&"b".repeat(73)), "b".repeat(73));
    }

    #[test]
    fn matches_nodemailer_single_key() {
        let out = sign_bytes(FX_MESSAGE.as_bytes(), &opts_a());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{FX_SIG_A}{FX_MESSAGE}")
        );
    }

    #[test]
    fn matches_nodemailer_multiple_keys_field_lists_and_idn() {
        let opts = DkimOptions::from_json(&serde_json::json!({
            "keys": [
                {"domainName": "example.com", "keySelector": "one", "privateKey": FX_PKCS8},
                {"domainName": "müller.example", "keySelector": "two", "privateKey": FX_PKCS1},
            ],
            "headerFieldNames": "From:To:Subject:X-Other:Date",
            "skipFields": "date",
        }))
        .unwrap()
        .unwrap();
        let out = sign_bytes(FX_MESSAGE.as_bytes(), &opts);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{FX_SIG_B}{FX_MESSAGE}")
        );
    }

    #[test]
    fn ed25519_sha256() {
        let opts = DkimOptions {
            keys: vec![DkimKey::new("example.com", "ed", FX_ED25519)],
            header_field_names: Some(
                "From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding".into(),
            ),
            ..Default::default()
        };
        let out = sign_bytes(FX_MESSAGE.as_bytes(), &opts);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{FX_SIG_ED}{FX_MESSAGE}")
        );
    }

    #[test]
    fn invalid_key_is_skipped_like_nodemailer() {
        let opts = DkimOptions::from_json(&serde_json::json!({
            "keys": [
                {"domainName": "bad.example", "keySelector": "x", "privateKey": "not a key"},
                {"domainName": "example.com", "keySelector": "test", "privateKey": FX_PKCS1},
            ]
        }))
        .unwrap()
        .unwrap();
        assert_eq!(opts.invalid_keys(), ["x.bad.example"]);
        let out = sign_bytes(FX_MESSAGE.as_bytes(), &opts);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{FX_SIG_A}{FX_MESSAGE}")
        );
        let dbg = format!("{opts:?}");
        assert!(
            dbg.contains("\"rsa\"") && dbg.contains("\"invalid\""),
            "{dbg}"
        );
        assert!(!dbg.contains("MII"), "{dbg}");
    }

    #[test]
    fn options_from_json() {
        use serde_json::json;
        assert!(DkimOptions::from_json(&json!(null)).unwrap().is_none());
        assert!(DkimOptions::from_json(&json!(false)).unwrap().is_none());
        let e = DkimOptions::from_json(&json!("x")).unwrap_err();
        assert_eq!(e.code, "ECONFIG");
        let e = DkimOptions::from_json(&json!({"hashAlgo": "sha1"})).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("ECONFIG", "Unsupported DKIM hash algorithm \"sha1\"")
        );
        // top-level key; a Buffer (JSON form) as the private key; numeric strings
        let bytes: Vec<u8> = FX_PKCS1.bytes().collect();
        let o = DkimOptions::from_json(&json!({
            "domainName": "example.com", "keySelector": 7,
            "privateKey": {"type": "Buffer", "data": bytes},
            "hashAlgo": "SHA256", "cacheTreshold": "100", "cacheDir": "/var/tmp",
            "skipFields": "", "headerFieldNames": "From:To",
        }))
        .unwrap()
        .unwrap();
        assert_eq!(o.keys.len(), 1);
        assert_eq!(
            (
                o.keys[0].domain_name.as_str(),
                o.keys[0].key_selector.as_str()
            ),
            ("example.com", "7")
        );
        assert!(o.keys[0].is_valid());
        assert_eq!(o.cache_treshold, 100);
        assert_eq!(o.cache_dir, Some(PathBuf::from("/var/tmp")));
        assert_eq!(o.skip_fields, None);
        assert_eq!(o.header_field_names.as_deref(), Some("From:To"));
        // `keys` as a single object; defaults
        let o = DkimOptions::from_json(&json!({
            "keys": {"domainName": "a.example", "keySelector": "s", "privateKey": {"key": FX_PKCS8}},
            "cacheTreshold": 0, "cacheDir": false,
        }))
        .unwrap()
        .unwrap();
        assert_eq!(o.keys.len(), 1);
        assert!(o.keys[0].is_valid());
        assert_eq!(o.cache_treshold, DEFAULT_CACHE_TRESHOLD);
        assert_eq!(o.cache_dir, None);
        // an encrypted key object is not supported
        let o = DkimOptions::from_json(&json!({
            "domainName": "a.example", "keySelector": "s",
            "privateKey": {"key": FX_PKCS8, "passphrase": "x"},
        }))
        .unwrap()
        .unwrap();
        assert_eq!(o.invalid_keys(), ["s.a.example"]);
    }

    #[test]
    fn tag_values_are_cleaned() {
        let opts = DkimOptions {
            keys: vec![DkimKey::new("exa;mple.com", "te=st\r\nX: y", FX_PKCS1)],
            header_field_names: Some("From".into()),
            ..Default::default()
        };
        let out = String::from_utf8(sign_bytes(FX_MESSAGE.as_bytes(), &opts)).unwrap();
        assert!(
            out.starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;\r\n q=dns/txt; s=testX: y; bh="),
            "{out}"
        );
    }

    #[tokio::test]
    async fn streaming_in_memory_matches_sign_bytes() {
        let msg = FX_MESSAGE.as_bytes();
        // split inside the blank line that ends the headers, and byte by byte
        let cut = msg.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 3;
        let body = body_of(&[&msg[..cut], &msg[cut..cut + 1], &msg[cut + 1..]]);
        let signed = sign(body, &opts_a()).await.unwrap();
        assert_eq!(
            signed.size_hint(),
            Some((FX_SIG_A.len() + msg.len()) as u64)
        );
        let out = signed.to_vec().await.unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{FX_SIG_A}{FX_MESSAGE}")
        );

        let parts: Vec<&[u8]> = msg.chunks(1).collect();
        let out = sign(body_of(&parts), &opts_a()).await.unwrap();
        let out = out.to_vec().await.unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{FX_SIG_A}{FX_MESSAGE}")
        );
    }

    fn cache_files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[tokio::test]
    async fn large_bodies_go_through_the_cache_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = opts_a();
        opts.cache_dir = Some(dir.path().to_path_buf());
        opts.cache_treshold = 40;
        let mut msg = FX_MESSAGE.as_bytes().to_vec();
        for i in 0..200 {
            msg.extend_from_slice(format!("line {i}  \t with  spaces \r\n").as_bytes());
        }
        let expected = sign_bytes(&msg, &opts);
        assert!(expected.starts_with(b"DKIM-Signature: "));
        let parts: Vec<&[u8]> = msg.chunks(7).collect();
        let signed = sign(body_of(&parts), &opts).await.unwrap();
        assert_eq!(cache_files(dir.path()), 1);
        assert_eq!(signed.size_hint(), None);
        let out = signed.to_vec().await.unwrap();
        assert_eq!(out, expected);
        assert_eq!(cache_files(dir.path()), 0);

        // dropped before it is sent: the file goes too
        let signed = sign(body_of(&parts), &opts).await.unwrap();
        assert_eq!(cache_files(dir.path()), 1);
        drop(signed);
        assert_eq!(cache_files(dir.path()), 0);

        // below the threshold nothing is written
        opts.cache_treshold = DEFAULT_CACHE_TRESHOLD;
        let signed = sign(body_of(&parts), &opts).await.unwrap();
        assert_eq!(cache_files(dir.path()), 0);
        assert_eq!(signed.size_hint(), Some(expected.len() as u64));
        assert_eq!(signed.to_vec().await.unwrap(), expected);
    }

    #[tokio::test]
    async fn cache_dir_errors_and_read_errors() {
        let mut opts = opts_a();
        opts.cache_dir = Some(PathBuf::from("/nonexistent/dkim-cache"));
        opts.cache_treshold = 1;
        let msg = FX_MESSAGE.as_bytes();
        let parts: Vec<&[u8]> = msg.chunks(3).collect();
        let e = sign(body_of(&parts), &opts).await.unwrap_err();
        assert_eq!(e.code, "ESTREAM");
        assert!(e.message.starts_with("DKIM cache: "), "{}", e.message);

        let body = MessageBody::new(vec![
            Segment::Bytes(Bytes::from_static(b"From: a@b.c\r\n\r\n")),
            Segment::Lazy {
                src: Lazy::File(PathBuf::from("/nonexistent/attachment")),
                enc: Enc::Base64,
            },
        ]);
        let e = sign(body, &opts_a()).await.unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                "EFILEACCESS",
                "ENOENT: no such file or directory, open '/nonexistent/attachment'"
            )
        );
    }

    #[tokio::test]
    async fn no_blank_line_signs_an_empty_body() {
        let signed = sign(body_of(&[b"From: a@b.c\r\nSubject: x\r\n"]), &opts_a())
            .await
            .unwrap();
        let out = String::from_utf8(signed.to_vec().await.unwrap()).unwrap();
        assert!(
            out.contains("bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n h=from:subject;"),
            "{out}"
        );
        assert!(out.ends_with("\r\nFrom: a@b.c\r\nSubject: x\r\n"), "{out}");
    }
}
