//! Transfer and header encoders with nodemailer's exact line breaking.
//!
//! Written by hand rather than taken from `quoted_printable`/`base64` line wrappers: nodemailer's
//! QP wrapper breaks lines at spaces/punctuation within the last third of a line and never splits
//! a UTF-8 sequence, and its RFC 2047 / RFC 2231 splitting has its own chunk sizes. Readers decode
//! either form the same, but the differential tests compare bytes, so the rules are reproduced.

use base64::Engine as _;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Default line length for QP, base64 and header folding.
pub const LINE_LENGTH: usize = 76;

/// Bytes that QP writes as they are (RFC 2045 6.7): TAB, LF, CR, SP..'<', '>'..'~'.
fn qp_literal(b: u8) -> bool {
    matches!(b, 0x09 | 0x0a | 0x0d | 0x20..=0x3c | 0x3e..=0x7e)
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// QP-encodes `buf` without line wrapping. `next` is the byte that follows (trailing whitespace
/// before it stays literal unless it is a line break); `binary` keeps only CRLF pairs literal;
/// `previous` is the byte before `buf`.
pub fn qp_encode_bytes(buf: &[u8], next: Option<u8>, binary: bool, previous: Option<u8>) -> String {
    let mut out = String::with_capacity(buf.len() * 3 / 2);
    for (i, &ord) in buf.iter().enumerate() {
        let following = if i + 1 < buf.len() {
            Some(buf[i + 1])
        } else {
            next
        };
        let line_break_ok = if binary && (ord == 0x0d || ord == 0x0a) {
            if ord == 0x0d {
                following == Some(0x0a)
            } else {
                let prev = if i > 0 { Some(buf[i - 1]) } else { previous };
                prev == Some(0x0d)
            }
        } else {
            true
        };
        let trailing_ws = is_ws(ord) && matches!(following, None | Some(0x0a) | Some(0x0d));
        if qp_literal(ord) && line_break_ok && !trailing_ws {
            out.push(ord as char);
        } else {
            out.push('=');
            out.push(HEX[(ord >> 4) as usize] as char);
            out.push(HEX[(ord & 0x0f) as usize] as char);
        }
    }
    out
}

/// QP of a whole value (as nodemailer's `qp.encode`).
pub fn qp_encode(data: &[u8]) -> String {
    qp_encode_bytes(data, None, false, None)
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn hex_val(b: u8) -> u32 {
    (b as char).to_digit(16).unwrap_or(0)
}

/// True if `line` ends with `=` followed by `min..=max` hex digits.
fn ends_with_escape(line: &[u8], min: usize, max: usize) -> Option<usize> {
    for n in (min..=max).rev() {
        if line.len() > n
            && line[line.len() - 1 - n] == b'='
            && line[line.len() - n..].iter().all(|&b| is_hex(b))
        {
            return Some(n + 1);
        }
    }
    None
}

/// `/^(?:=[\da-f]{2}){1,4}$/i`
fn only_escapes(line: &[u8]) -> bool {
    let n = line.len();
    if n == 0 || !n.is_multiple_of(3) || n / 3 > 4 {
        return false;
    }
    line.chunks(3)
        .all(|c| c[0] == b'=' && is_hex(c[1]) && is_hex(c[2]))
}

/// Adds soft line breaks to QP text (nodemailer's `qp.wrap`). Input is ASCII.
pub fn qp_wrap(s: &str, line_length: usize) -> String {
    let line_length = line_length.max(4);
    let b = s.as_bytes();
    let len = b.len();
    if len <= line_length {
        return s.to_string();
    }
    let margin = line_length / 3;
    let mut pos = 0;
    let mut result = String::with_capacity(len + len / 20);
    while pos < len {
        let end = (pos + line_length).min(len);
        let mut line: &[u8] = &b[pos..end];
        if let Some(i) = line.windows(2).position(|w| w == b"\r\n") {
            line = &line[..i + 2];
            push_ascii(&mut result, line);
            pos += line.len();
            continue;
        }
        if line.last() == Some(&b'\n') {
            push_ascii(&mut result, line);
            pos += line.len();
            continue;
        }
        let tail_start = line.len().saturating_sub(margin);
        let tail = &line[tail_start..];
        // `/\n.*?$/` on the tail: a LF with no CR/LF after it
        if let Some(lf) = tail.iter().rposition(|&c| c == b'\n') {
            if !tail[lf + 1..].contains(&b'\r') {
                line = &line[..tail_start + lf + 1];
                push_ascii(&mut result, line);
                pos += line.len();
                continue;
            }
        }
        let break_char = |c: u8| matches!(c, b' ' | b'\t' | b'.' | b',' | b'!' | b'?');
        let space_at = if line.len() > line_length - margin {
            tail.iter().rposition(|&c| break_char(c))
        } else {
            None
        };
        if let Some(sp) = space_at {
            line = &line[..tail_start + sp + 1];
        } else if ends_with_escape(line, 0, 2).is_some() {
            if let Some(n) = ends_with_escape(line, 0, 1) {
                line = &line[..line.len() - n];
            }
            // keep UTF-8 sequences whole
            while line.len() > 3 && line.len() < len - pos && !only_escapes(line) {
                let Some(3) = ends_with_escape(line, 2, 2) else {
                    break;
                };
                let l = line.len();
                let code = hex_val(line[l - 2]) * 16 + hex_val(line[l - 1]);
                if code < 128 {
                    break;
                }
                line = &line[..l - 3];
                if code >= 0xc0 {
                    break;
                }
            }
        }
        if line.is_empty() {
            line = &b[pos..end];
        }
        if pos + line.len() < len && line.last() != Some(&b'\n') {
            if line.len() == line_length && ends_with_escape(line, 2, 2).is_some() {
                line = &line[..line.len() - 3];
            } else if line.len() == line_length {
                line = &line[..line.len() - 1];
            }
            pos += line.len();
            push_ascii(&mut result, line);
            result.push_str("=\r\n");
        } else {
            pos += line.len();
            push_ascii(&mut result, line);
        }
    }
    result
}

fn push_ascii(out: &mut String, bytes: &[u8]) {
    for &c in bytes {
        out.push(c as char);
    }
}

const ENCODE_SLICE_SIZE: usize = 64 * 1024;

/// Streaming QP encoder; output does not depend on how the input is chunked (same rules as
/// nodemailer's `qp.Encoder`).
#[derive(Debug, Default)]
pub struct QpEncoder {
    binary: bool,
    cur_line: String,
    remaining: Vec<u8>,
    last_byte: Option<u8>,
}

impl QpEncoder {
    pub fn new(binary: bool) -> Self {
        QpEncoder {
            binary,
            ..Default::default()
        }
    }

    pub fn transform(&mut self, chunk: &[u8]) -> String {
        if chunk.is_empty() {
            return String::new();
        }
        let mut buf = std::mem::take(&mut self.remaining);
        buf.extend_from_slice(chunk);
        let mut end = buf.len();
        // trailing whitespace (and a binary CR) waits until we know what follows it
        while end > 0 && (is_ws(buf[end - 1]) || (self.binary && buf[end - 1] == 0x0d)) {
            end -= 1;
        }
        if buf.len() - end <= ENCODE_SLICE_SIZE {
            self.remaining = buf[end..].to_vec();
            buf.truncate(end);
        }
        self.encode_slices(&buf)
    }

    pub fn flush(&mut self) -> String {
        let rem = std::mem::take(&mut self.remaining);
        let mut out = self.encode_slices(&rem);
        out.push_str(&std::mem::take(&mut self.cur_line));
        out
    }

    fn encode_slices(&mut self, buf: &[u8]) -> String {
        let mut out = String::new();
        let mut start = 0;
        while start < buf.len() {
            let end = (start + ENCODE_SLICE_SIZE).min(buf.len());
            let next = buf.get(end).copied();
            let mut line = std::mem::take(&mut self.cur_line);
            line.push_str(&qp_encode_bytes(
                &buf[start..end],
                next,
                self.binary,
                self.last_byte,
            ));
            let qp = qp_wrap(&line, LINE_LENGTH);
            match qp.rfind('\n') {
                Some(lf) => {
                    out.push_str(&qp[..lf + 1]);
                    self.cur_line = qp[lf + 1..].to_string();
                }
                None => self.cur_line = qp,
            }
            self.last_byte = Some(buf[end - 1]);
            start = end;
        }
        out
    }
}

/// QP-encodes a complete in-memory body (the composer goes through `body::Encoder`).
#[cfg(test)]
pub fn qp_body(data: &[u8], binary: bool) -> String {
    let mut enc = QpEncoder::new(binary);
    let mut out = enc.transform(data);
    out.push_str(&enc.flush());
    out
}

/// Streaming base64 encoder: 76-char lines joined by CRLF, no CRLF after the last line.
#[derive(Debug, Default)]
pub struct Base64Encoder {
    remaining: Vec<u8>,
    col: usize,
    started: bool,
}

impl Base64Encoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn emit(&mut self, b64: &str, out: &mut Vec<u8>) {
        for &c in b64.as_bytes() {
            if self.col == LINE_LENGTH {
                out.extend_from_slice(b"\r\n");
                self.col = 0;
            }
            out.push(c);
            self.col += 1;
            self.started = true;
        }
    }

    pub fn transform(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.remaining);
        buf.extend_from_slice(chunk);
        let extra = buf.len() % 3;
        self.remaining = buf[buf.len() - extra..].to_vec();
        buf.truncate(buf.len() - extra);
        let mut out = Vec::with_capacity(buf.len() * 4 / 3 + buf.len() / 38 + 4);
        let enc = B64.encode(&buf);
        self.emit(&enc, &mut out);
        out
    }

    pub fn flush(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let rem = std::mem::take(&mut self.remaining);
        if !rem.is_empty() {
            let enc = B64.encode(&rem);
            self.emit(&enc, &mut out);
        }
        out
    }
}

#[cfg(test)]
/// Base64 of a complete in-memory body, wrapped at 76.
pub fn base64_body(data: &[u8]) -> Vec<u8> {
    let mut enc = Base64Encoder::new();
    let mut out = enc.transform(data);
    out.extend(enc.flush());
    out
}

/// Lenient base64 decoding like node's `Buffer.from(s, 'base64')`: URL-safe alphabet accepted,
/// whitespace and other junk skipped, stops at the first '='.
pub fn base64_decode_lenient(s: &str) -> Vec<u8> {
    let mut clean = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' => clean.push(c),
            '-' => clean.push('+'),
            '_' => clean.push('/'),
            '=' => break,
            _ => {}
        }
    }
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine.decode(clean.as_bytes()).unwrap_or_default()
}

/// Decodes a string the way `Buffer.from(str, encoding)` does for the encodings people use.
pub fn decode_string(s: &str, encoding: &str) -> Vec<u8> {
    match encoding {
        "base64" | "base64url" => base64_decode_lenient(s),
        "hex" => {
            let b = s.as_bytes();
            let mut out = Vec::with_capacity(b.len() / 2);
            // node stops at the first pair that is not hex
            for pair in b.chunks_exact(2) {
                if !(is_hex(pair[0]) && is_hex(pair[1])) {
                    break;
                }
                out.push((hex_val(pair[0]) * 16 + hex_val(pair[1])) as u8);
            }
            out
        }
        "latin1" | "binary" => s.chars().map(|c| (c as u32 & 0xff) as u8).collect(),
        "utf16le" | "ucs2" => s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect(),
        _ => s.as_bytes().to_vec(),
    }
}

/// Number of UTF-16 code units (JS string length).
pub fn js_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// nodemailer `_getTextEncoding`: Q if more ASCII letters than non-ASCII/control units, else B.
pub fn detect_text_encoding(value: &str) -> char {
    let mut non_latin = 0usize;
    let mut latin = 0usize;
    for c in value.chars() {
        let code = c as u32;
        if code <= 0x08
            || code == 0x0b
            || code == 0x0c
            || (0x0e..=0x1f).contains(&code)
            || code >= 0x80
        {
            non_latin += c.len_utf16();
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    if non_latin < latin {
        'Q'
    } else {
        'B'
    }
}

/// `/^[\x20-\x7e]*$/` etc. helpers
pub fn is_printable_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// nodemailer `isPlainText` (non-param form): no control chars except TAB/CR/LF, no non-ASCII.
pub fn is_plain_text(s: &str) -> bool {
    !s.chars().any(|c| {
        let c = c as u32;
        c <= 0x08 || c == 0x0b || c == 0x0c || (0x0e..=0x1f).contains(&c) || c >= 0x80
    })
}

/// `isPlainText(value, true)`: no control chars, DEL, quote or non-ASCII at all.
pub fn is_plain_param(s: &str) -> bool {
    !s.chars().any(|c| {
        let c = c as u32;
        c <= 0x1f || c == 0x7f || c == 0x22 || c >= 0x80
    })
}

fn is_plain_param_value(s: &str) -> bool {
    is_plain_param(s) && !s.contains("=?")
}

/// True if some line is longer than `max` (JS `.` excludes CR and LF; strings over 128 kB count as long).
pub fn has_longer_lines(s: &str, max: usize) -> bool {
    if js_len(s) > 128 * 1024 {
        return true;
    }
    let mut n = 0usize;
    for c in s.chars() {
        if c == '\r' || c == '\n' || c == '\u{2028}' || c == '\u{2029}' {
            n = 0;
        } else {
            n += c.len_utf16();
            if n > max {
                return true;
            }
        }
    }
    false
}

/// Wraps a value into a quoted-string with `\"` and `\\` escapes.
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `JSON.stringify` of a string.
/// Plain base64 of a whole value (no line breaks), as `Buffer#toString('base64')`.
pub fn base64_encode(b: &[u8]) -> String {
    B64.encode(b)
}

pub fn json_quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Splits a Q-encoded string into chunks of at most `maxlen` chars without breaking escapes or
/// UTF-8 sequences (nodemailer `splitMimeEncodedString`). Input is ASCII.
pub fn split_mime_encoded_string(s: &str, maxlen: usize) -> Vec<String> {
    let maxlen = maxlen.max(12);
    let mut lines = Vec::new();
    let mut rest = s.as_bytes();
    while !rest.is_empty() {
        let mut cur = &rest[..maxlen.min(rest.len())];
        if let Some(n) = ends_with_escape(cur, 0, 1) {
            cur = &cur[..cur.len() - n];
        }
        let fallback = if cur.is_empty() {
            &rest[..maxlen.min(rest.len())]
        } else {
            cur
        };
        let mut done = false;
        while !done && !cur.is_empty() {
            done = true;
            let after = &rest[cur.len()..];
            if after.len() >= 3 && after[0] == b'=' && is_hex(after[1]) && is_hex(after[2]) {
                let chr = hex_val(after[1]) * 16 + hex_val(after[2]);
                if chr < 0xc2 && chr > 0x7f {
                    cur = &cur[..cur.len().saturating_sub(3)];
                    done = false;
                }
            }
        }
        if cur.is_empty() {
            cur = fallback;
        }
        let mut line = String::new();
        push_ascii(&mut line, cur);
        lines.push(line);
        rest = &rest[cur.len()..];
    }
    lines
}

/// One or more RFC 2047 encoded words for `data` (nodemailer `encodeWord`).
/// `max_length` 0 means no splitting; nodemailer passes 52 for headers.
pub fn encode_word(data: &str, enc: char, max_length: usize) -> String {
    let enc = if enc == 'B' { 'B' } else { 'Q' };
    let mut max = max_length;
    if max > 12 {
        max -= 12;
    }
    let mut encoded;
    if enc == 'Q' {
        encoded = String::new();
        for c in qp_encode(data.as_bytes()).chars() {
            if c.is_ascii_alphanumeric() || "!*+-/=".contains(c) {
                encoded.push(c);
            } else if c == ' ' {
                encoded.push('_');
            } else {
                encoded.push_str(&format!("={:02X}", c as u32));
            }
        }
        if max > 0 && encoded.len() > max {
            encoded = split_mime_encoded_string(&encoded, max).join("?= =?UTF-8?Q?");
        }
    } else {
        if max > 0 {
            max = ((max - max % 4) / 4 * 3).max(3);
        }
        if max > 0 && B64.encode(data.as_bytes()).len() > max {
            // never split inside a character (RFC 2047 6.3)
            let mut parts: Vec<String> = Vec::new();
            let mut part = String::new();
            for (i, c) in data.chars().enumerate() {
                if part.len() + c.len_utf8() <= max || i == 0 {
                    part.push(c);
                } else {
                    parts.push(B64.encode(part.as_bytes()));
                    part = c.to_string();
                }
            }
            if !part.is_empty() {
                parts.push(B64.encode(part.as_bytes()));
            }
            encoded = parts.join("?= =?UTF-8?B?");
        } else {
            encoded = B64.encode(data.as_bytes());
        }
    }
    let close = if encoded.ends_with("?=") { "" } else { "?=" };
    format!("=?UTF-8?{enc}?{encoded}{close}")
}

/// `^=\?[^\s()<>@,;:"/[\]?.=]+\?[BbQq]\?[^?\s]+\?=$`
/// Encodes a header text when it needs it; with `encode_all` (what nodemailer uses) the whole
/// value becomes encoded words. Text that looks like an encoded word is encoded too, valid or
/// not: it is the user's text, and written as is a reader would decode it (nodemailer passes a
/// valid one through, so `=?UTF-8?Q?x?=` reached the recipient as "x").
pub fn encode_words(value: &str, enc: char, max_length: usize) -> String {
    let mut needs = value.chars().any(|c| c == '"' || c as u32 >= 0x80);
    if !needs && value.contains("=?") {
        needs = value.split(|c: char| c.is_whitespace()).any(|w| {
            w.contains("=?")
                && (w.starts_with("=?") && w.len() >= 4 && w.ends_with("?=") || has_lenient_word(w))
        });
    }
    if !needs {
        return value.to_string();
    }
    encode_word(value, enc, max_length)
}

/// `=\?[^?]*\?[BbQq]\?[^?]*\?=` somewhere in `w`.
fn has_lenient_word(w: &str) -> bool {
    let mut from = 0;
    while let Some(p) = w[from..].find("=?") {
        let s = &w[from + p + 2..];
        let mut it = s.splitn(4, '?');
        if let (Some(_), Some(e), Some(_), Some(rest)) =
            (it.next(), it.next(), it.next(), it.next())
        {
            if matches!(e, "B" | "b" | "Q" | "q") && rest.starts_with('=') {
                return true;
            }
        }
        from += p + 2;
    }
    false
}

/// Encodes an unstructured header value (nodemailer `_encodeHeaderText`); `forced` is the
/// `textEncoding` option's letter.
pub fn encode_header_text(value: &str, forced: Option<char>) -> String {
    let enc = forced.unwrap_or_else(|| detect_text_encoding(value));
    let has_ctl = value.chars().any(|c| {
        let c = c as u32;
        c <= 0x08 || c == 0x0b || c == 0x0c || (0x0e..=0x1f).contains(&c) || c == 0x7f
    });
    if has_ctl {
        encode_word(value, enc, 52)
    } else {
        encode_words(value, enc, 52)
    }
}

/// Longest header line RFC 5322 2.1.1 allows, without its CRLF.
pub const MAX_LINE_OCTETS: usize = 998;

/// Whether a folded header has a line over [`MAX_LINE_OCTETS`] (a word too long to fold).
pub fn has_overlong_line(folded: &str) -> bool {
    folded.split("\r\n").any(|l| l.len() > MAX_LINE_OCTETS)
}

/// Folds a header line at `line_length` on whitespace (nodemailer `foldLines`, afterSpace=false).
pub fn fold_lines(s: &str, line_length: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len();
    let mut pos = 0;
    let mut result = String::with_capacity(s.len() + 8);
    while pos < len {
        let end = (pos + line_length).min(len);
        let mut line = &chars[pos..end];
        if line.len() < line_length {
            result.extend(line);
            break;
        }
        if let Some(i) = line.iter().position(|&c| c == '\r' || c == '\n') {
            let mut e = i + 1;
            if line[i] == '\r' && line.get(i + 1) == Some(&'\n') {
                e += 1;
            }
            if line[i] == '\r'
                && e == i + 1
                && line.get(i + 1).is_none()
                && chars.get(pos + i + 1) == Some(&'\n')
            {
                // the CRLF pair straddles the window: JS only matches within the window
            }
            let l = &chars[pos..pos + e];
            result.extend(l);
            pos += e;
            continue;
        }
        // the last whitespace run and what follows it
        let mut cut = None;
        if let Some(last_ws) = line.iter().rposition(|c| c.is_whitespace()) {
            let mut start = last_ws;
            while start > 0 && line[start - 1].is_whitespace() {
                start -= 1;
            }
            if start > 0 {
                cut = Some(start);
            }
        }
        if let Some(c) = cut {
            line = &line[..c];
        } else {
            let rest = &chars[pos + line.len()..];
            let word = rest.iter().take_while(|c| !c.is_whitespace()).count();
            if word > 0 {
                line = &chars[pos..pos + line.len() + word];
            }
        }
        result.extend(line);
        pos += line.len();
        if pos < len {
            result.push_str("\r\n");
        }
    }
    result
}

/// percent-encodes everything except `A-Za-z0-9-_.!~` (nodemailer `safeEncodeURIComponent`).
pub fn safe_encode_uri_component(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-_.!~".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// RFC 2231 parameter continuations (nodemailer `buildHeaderParam`): (key, value) pairs.
pub fn build_header_param(key: &str, data: &str, max_length: usize) -> Vec<(String, String)> {
    let max_length = if max_length == 0 { 50 } else { max_length };
    let mut list: Vec<(String, bool)> = Vec::new();
    if is_plain_param_value(data) {
        if data.len() <= max_length {
            return vec![(key.to_string(), data.to_string())];
        }
        let b = data.as_bytes();
        for chunk in b.chunks(max_length) {
            let mut l = String::new();
            push_ascii(&mut l, chunk);
            list.push((l, false));
        }
    } else {
        let units: Vec<String> = data.chars().map(|c| c.to_string()).collect();
        let mut line = String::from("utf-8''");
        let mut encoded = true;
        let mut start_pos: isize = 0;
        let mut i: isize = 0;
        let len = units.len() as isize;
        while i < len {
            let orig = &units[i as usize];
            let mut chr;
            if encoded {
                chr = safe_encode_uri_component(orig);
            } else {
                chr = if orig == " " {
                    " ".to_string()
                } else {
                    safe_encode_uri_component(orig)
                };
                if &chr != orig {
                    if safe_encode_uri_component(&line).len() + chr.len() >= max_length {
                        list.push((std::mem::take(&mut line), encoded));
                        encoded = true;
                    } else {
                        encoded = true;
                        i = start_pos + 1;
                        line.clear();
                        continue;
                    }
                }
            }
            if line.len() + chr.len() >= max_length {
                list.push((std::mem::take(&mut line), encoded));
                chr = if orig == " " {
                    " ".to_string()
                } else {
                    safe_encode_uri_component(orig)
                };
                line = chr.clone();
                if &chr == orig {
                    encoded = false;
                    start_pos = i - 1;
                } else {
                    encoded = true;
                }
            } else {
                line.push_str(&chr);
            }
            i += 1;
        }
        if !line.is_empty() {
            list.push((line, encoded));
        }
    }
    list.into_iter()
        .enumerate()
        .map(|(i, (line, enc))| (format!("{key}*{i}{}", if enc { "*" } else { "" }), line))
        .collect()
}

fn has_param_special(v: &str) -> bool {
    v.chars()
        .any(|c| c.is_whitespace() || "'\"\\;:/=(),<>@[]?".contains(c))
}

/// A parsed structured header value: `value; k=v; ...` with params in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Structured {
    pub value: String,
    pub params: Vec<(String, String)>,
}

impl Structured {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(pk, _)| pk == k)
            .map(|(_, v)| v.as_str())
    }
    /// JS object assignment: replaces in place or appends.
    pub fn set(&mut self, k: &str, v: &str) {
        match self.params.iter_mut().find(|(pk, _)| pk == k) {
            Some(p) => p.1 = v.to_string(),
            None => self.params.push((k.to_string(), v.to_string())),
        }
    }
}

/// Parses `text/plain; charset="utf-8"` style values. Handles quoting and escapes inside quotes,
/// first occurrence of a parameter wins; RFC 2231 continuations are not joined (the composer only
/// parses values it or the user wrote, and re-emits params as given).
pub fn parse_header_value(s: &str) -> Structured {
    let mut res = Structured::default();
    let mut key: Option<String> = None;
    let mut value = String::new();
    let mut pending_space = String::new();
    let mut quote = false;
    let mut quote_closed = false;
    let mut escaped = false;
    let mut stage_key = false;
    let set_param = |res: &mut Structured, name: String, v: String| {
        let name = name.to_lowercase();
        if !name.is_empty() && res.get(&name).is_none() {
            res.params.push((name, v));
        }
    };
    for chr in s.chars() {
        if stage_key {
            if chr == '=' {
                key = Some(value.trim().to_string());
                value.clear();
                pending_space.clear();
                quote_closed = false;
                stage_key = false;
                continue;
            }
            if chr == ';' {
                let k = value.trim().to_string();
                value.clear();
                set_param(&mut res, k, String::new());
                continue;
            }
            value.push(chr);
            continue;
        }
        if quote_closed && chr != ';' {
            escaped = false;
            continue;
        }
        if escaped {
            if !value.is_empty() {
                value.push_str(&pending_space);
            }
            pending_space.clear();
            value.push(chr);
        } else if quote && chr == '\\' {
            escaped = true;
            continue;
        } else if quote && chr == '"' {
            quote = false;
            quote_closed = true;
        } else if !quote && chr == '"' {
            quote = true;
            if !value.is_empty() {
                value.push_str(&pending_space);
            }
            pending_space.clear();
        } else if !quote && chr == ';' {
            let v = std::mem::take(&mut value);
            pending_space.clear();
            quote_closed = false;
            match key.take() {
                None => res.value = v,
                Some(k) => set_param(&mut res, k, v),
            }
            stage_key = true;
        } else if !quote && (chr == ' ' || chr == '\t') {
            pending_space.push(chr);
        } else {
            if !value.is_empty() {
                value.push_str(&pending_space);
            }
            pending_space.clear();
            value.push(chr);
        }
        escaped = false;
    }
    if !stage_key {
        match key.take() {
            None => res.value = value,
            Some(k) => set_param(&mut res, k, value),
        }
    } else {
        let k = value.trim().to_string();
        if !k.is_empty() {
            set_param(&mut res, k, String::new());
        }
    }
    res
}

fn strip_controls(s: &str) -> String {
    s.chars()
        .filter(|&c| !(c <= '\u{1f}' || c == '\u{7f}'))
        .collect()
}

/// Joins a structured value back (nodemailer `buildHeaderValue`).
pub fn build_header_value(st: &Structured) -> String {
    let mut params = Vec::new();
    for (key, value) in &st.params {
        let param = strip_controls(key);
        if !is_plain_param_value(value) || js_len(value) >= 75 {
            for (k, v) in build_header_param(&param, value, 50) {
                let needs_quote = has_param_special(&v)
                    || v.starts_with('-')
                    || v.starts_with('\'')
                    || v.ends_with('\'');
                if !needs_quote || k.ends_with('*') {
                    params.push(format!("{k}={v}"));
                } else {
                    params.push(format!("{k}={}", json_quote(&v)));
                }
            }
        } else if value.is_empty() || has_param_special(value) || value.starts_with('-') {
            params.push(format!("{param}={}", json_quote(value)));
        } else {
            params.push(format!("{param}={value}"));
        }
    }
    let value = strip_controls(&st.value);
    if params.is_empty() {
        value
    } else {
        format!("{value}; {}", params.join("; "))
    }
}

/// Header key casing (nodemailer `_normalizeHeaderKey`).
pub fn normalize_header_key(key: &str) -> String {
    // The composer's own headers, already in normal form, on every message: skip the work.
    if COMMON_KEYS.contains(&key) {
        return key.to_string();
    }
    normalize_header_key_slow(key)
}

/// Keys the composer writes for most messages, each its own normal form (a test checks).
const COMMON_KEYS: [&str; 12] = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Reply-To",
    "X-Mailer",
];

fn normalize_header_key_slow(key: &str) -> String {
    let cleaned: String = key
        .chars()
        .filter(|&c| !(c.is_whitespace() || c <= ' ' || c == '\u{7f}' || c == ':'))
        .collect::<String>()
        .to_lowercase();
    if cleaned == "x-smtpapi" {
        return "X-SMTPAPI".into();
    }
    if cleaned == "content-features" {
        return "Content-features".into();
    }
    let mut out = String::with_capacity(cleaned.len());
    let mut rest: &str = &cleaned;
    // uppercase prefixes: MIME, DKIM, ARC, BIMI (as a word), OTP before -Token
    for p in ["mime", "dkim", "arc", "bimi"] {
        if let Some(r) = rest.strip_prefix(p) {
            let boundary = r
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            if boundary {
                out.push_str(&p.to_uppercase());
                rest = r;
                break;
            }
        }
    }
    if out.is_empty() && cleaned == "otp-token" {
        return "OTP-Token".into();
    }
    let suffix_upper = ["-spf", "-fbl", "-id", "-md5"]
        .iter()
        .find(|s| rest.ends_with(*s))
        .map(|s| s.len());
    let body_len = rest.len() - suffix_upper.unwrap_or(0);
    let mut prev_dash = false;
    for (i, c) in rest[..body_len].chars().enumerate() {
        if (i == 0 && out.is_empty()) || prev_dash {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_dash = c == '-';
    }
    if suffix_upper.is_some() {
        out.push_str(&rest[body_len..].to_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_wraps_at_76_without_trailing_crlf() {
        let data = vec![b'a'; 100];
        let out = String::from_utf8(base64_body(&data)).unwrap();
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 76);
        assert_eq!(
            lines[1],
            "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYQ=="
        );
        // chunking does not matter
        let mut enc = Base64Encoder::new();
        let mut streamed = Vec::new();
        for c in data.chunks(7) {
            streamed.extend(enc.transform(c));
        }
        streamed.extend(enc.flush());
        assert_eq!(String::from_utf8(streamed).unwrap(), out);
        // exactly one line
        assert_eq!(base64_body(&[b'x'; 57]).len(), 76);
        assert!(!String::from_utf8(base64_body(&[b'x'; 57]))
            .unwrap()
            .contains('\r'));
    }

    #[test]
    fn qp_trailing_space_and_equals() {
        assert_eq!(qp_body(b"a = b ", false), "a =3D b=20");
        assert_eq!(qp_body(b"line \r\nnext\t", false), "line=20\r\nnext=09");
        assert_eq!(qp_body("ö".as_bytes(), false), "=C3=B6");
        // binary: lone LF encoded
        assert_eq!(qp_body(b"a\nb\r\nc", true), "a=0Ab\r\nc");
    }

    #[test]
    fn qp_soft_breaks_match_nodemailer() {
        // outputs checked against nodemailer 10.6.1 qp.Encoder
        let s = "a".repeat(100);
        assert_eq!(
            qp_body(s.as_bytes(), false),
            format!("{}=\r\n{}", "a".repeat(75), "a".repeat(25))
        );
        let s = "ö".repeat(40);
        let out = qp_body(s.as_bytes(), false);
        let first = out.split("\r\n").next().unwrap();
        assert_eq!(first, format!("{}=", "=C3=B6".repeat(12)));
        let s = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore";
        assert_eq!(
            qp_body(s.as_bytes(), false),
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod =\r\ntempor incididunt ut labore"
        );
    }

    #[test]
    fn rfc2047_words() {
        assert_eq!(
            encode_header_text("Hellö wörld subject", None),
            "=?UTF-8?Q?Hell=C3=B6_w=C3=B6rld_subject?="
        );
        assert_eq!(encode_header_text("plain subject", None), "plain subject");
        // text that looks like an encoded word, valid or not, is encoded so it reads literally
        for lookalike in ["=?UTF-8?Q?x?=", "a =?utf-8?b?aGk=?= b", "x=?UTF-8?Q?y?=z"] {
            let out = encode_header_text(lookalike, None);
            assert!(out.starts_with("=?UTF-8?Q?"), "{lookalike}: {out}");
            assert!(
                !out.contains("=?UTF-8?Q?x?=") && !out.contains("?b?"),
                "{out}"
            );
        }
        assert_eq!(encode_header_text("a=?b", None), "a=?b");
        assert_eq!(
            encode_header_text("say \"hi\"", None),
            "=?UTF-8?Q?say_=22hi=22?="
        );
        // B for mostly non-latin text, never splitting a character
        let v = "ÕÄÖÜ".repeat(10);
        let out = encode_header_text(&v, None);
        for w in out.split(' ') {
            let b64 = w.trim_start_matches("=?UTF-8?B?").trim_end_matches("?=");
            let bytes = B64.decode(b64).unwrap();
            assert!(String::from_utf8(bytes).is_ok(), "{w}");
        }
        // checked against nodemailer 10.6.1
        assert_eq!(
            out,
            "=?UTF-8?B?w5XDhMOWw5zDlcOEw5bDnMOVw4TDlsOcw5XDhMOW?= =?UTF-8?B?w5zDlcOEw5bDnMOVw4TDlsOcw5XDhMOWw5zDlcOE?= =?UTF-8?B?w5bDnMOVw4TDlsOcw5XDhMOWw5w=?="
        );
    }

    #[test]
    fn q_words_do_not_split_utf8() {
        let out = encode_word(&"aö".repeat(30), 'Q', 52);
        for w in out.split(' ') {
            assert!(w.len() <= 52 + 12 + 2, "{w}");
            let inner = w.trim_start_matches("=?UTF-8?Q?").trim_end_matches("?=");
            // no word ends in the middle of a two-byte sequence
            assert!(!inner.ends_with("=C3"), "{w}");
        }
    }

    #[test]
    fn fold_at_76() {
        let v = format!("Subject: {}", "word ".repeat(20).trim_end());
        let folded = fold_lines(&v, 76);
        assert_eq!(
            folded,
            "Subject: word word word word word word word word word word word word word\r\n word word word word word word word"
        );
    }

    #[test]
    fn header_keys() {
        assert_eq!(normalize_header_key("message-id"), "Message-ID");
        assert_eq!(normalize_header_key("mime-version"), "MIME-Version");
        assert_eq!(
            normalize_header_key("X-MSMail-Priority"),
            "X-Msmail-Priority"
        );
        assert_eq!(normalize_header_key("list-id"), "List-ID");
        assert_eq!(normalize_header_key("content-md5"), "Content-MD5");
        assert_eq!(normalize_header_key("dkim-signature"), "DKIM-Signature");
        assert_eq!(normalize_header_key("x-smtpapi"), "X-SMTPAPI");
        assert_eq!(normalize_header_key("From: evil\r\n"), "Fromevil");
        assert_eq!(normalize_header_key("x-custom-header"), "X-Custom-Header");
    }

    #[test]
    fn rfc2231_filenames() {
        let st = Structured {
            value: "attachment".into(),
            params: vec![("filename".into(), "ö.txt".into())],
        };
        assert_eq!(
            build_header_value(&st),
            "attachment; filename*0*=utf-8''%C3%B6.txt"
        );
        let st = Structured {
            value: "attachment".into(),
            params: vec![("filename".into(), "my file.txt".into())],
        };
        assert_eq!(
            build_header_value(&st),
            "attachment; filename=\"my file.txt\""
        );
        let long = format!("{}.txt", "a".repeat(80));
        let st = Structured {
            value: "attachment".into(),
            params: vec![("filename".into(), long)],
        };
        assert_eq!(
            build_header_value(&st),
            format!(
                "attachment; filename*0={}; filename*1={}.txt",
                "a".repeat(50),
                "a".repeat(30)
            )
        );
    }

    #[test]
    fn parses_structured_values() {
        let st = parse_header_value("multipart/related; type=\"text/html\"; boundary=abc");
        assert_eq!(st.value, "multipart/related");
        assert_eq!(
            st.params,
            vec![
                ("type".to_string(), "text/html".to_string()),
                ("boundary".to_string(), "abc".to_string())
            ]
        );
    }

    #[test]
    fn decodes_node_encodings() {
        assert_eq!(decode_string("aGVsbG8=", "base64"), b"hello");
        assert_eq!(decode_string("aGVsbG8", "base64"), b"hello");
        // expected bytes printed by node's Buffer.from(s, 'base64')
        for (s, hex) in [
            ("aGk", "6869"),
            ("aG k=", "6869"),
            ("!!", ""),
            ("aG=k", "68"),
            ("a-_b", "6befdb"),
            ("aGk=\naGk", "6869"),
            ("aGkx=aGk", "686931"),
        ] {
            let got: String = base64_decode_lenient(s)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(got, hex, "{s:?}");
        }
        assert_eq!(decode_string("68656c6c6f", "hex"), b"hello");
    }

    #[test]
    fn common_keys_are_their_own_normal_form() {
        for k in COMMON_KEYS {
            assert_eq!(normalize_header_key_slow(k), k);
        }
    }
}
