//! Header lines (nodemailer lib/mime-node `buildHeaders` and `_encodeHeaderValue`, with
//! lib/mime-funcs for the encodings): each stored header value becomes one folded line.
//!
//! - address headers are parsed and re-formatted (address.rs);
//! - Message-ID, In-Reply-To, Content-ID and References are id lists in `<...>`;
//! - Content-Type and Content-Disposition are structured values: parameters added here
//!   (boundary, charset, name, filename), never encoded words;
//! - everything else is unstructured text (RFC 5322 3.2.5), encoded words where needed;
//! - prepared values (`{prepared: true}`, List-* headers) are written as given, except line
//!   breaks that could start a new header.

use crate::address::convert_addresses;
use crate::dates::format_date;
use crate::encoding::{self as enc, Structured};
use crate::mime_node::{HVal, Node, Source, Writer};

/// Headers whose `{value, prepared}` objects are still formatted (addresses, date, ids).
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

/// A node's header block (lines joined with CRLF, no trailing CRLF) and what its
/// Content-Type says about the body.
pub(crate) struct HeaderBlock {
    pub text: String,
    /// the multipart boundary, for a multipart node
    pub boundary: Option<String>,
    /// the Content-Type value, lowercase, without parameters
    pub content_type: String,
}

impl Writer {
    /// The header lines of `node`, in its header order.
    pub(crate) fn header_block(&self, node: &Node) -> HeaderBlock {
        let mut block = HeaderBlock {
            text: String::new(),
            boundary: None,
            content_type: String::new(),
        };
        let mut lines = Vec::new();
        for (key, val) in &node.headers {
            let mut text = match val {
                HVal::Object {
                    value,
                    prepared,
                    fold,
                } if !FORMATTED.contains(&key.as_str()) => {
                    if value.trim().is_empty() {
                        continue;
                    }
                    if *prepared {
                        lines.push(self.prepared_line(key, value, *fold));
                        continue;
                    }
                    value.clone()
                }
                HVal::Object { value, .. } => value.clone(),
                HVal::Text(s) => s.clone(),
                _ => String::new(),
            };
            match key.as_str() {
                "Content-Disposition" => text = content_disposition(&text, node),
                "Content-Type" => text = self.content_type(&text, node, &mut block),
                "Bcc" if !self.keep_bcc => continue,
                _ => {}
            }
            if let Some(line) = self.header_line(key, val, &text) {
                lines.push(line);
            }
        }
        block.text = lines.join("\r\n");
        block
    }

    /// `Key: value`, folded; None when the value encodes to nothing (the header is skipped).
    fn header_line(&self, key: &str, val: &HVal, text: &str) -> Option<String> {
        let value = self.encode_header_value(key, val, text);
        if value.trim().is_empty() {
            return None;
        }
        let mut folded = enc::fold_lines(&format!("{}: {value}", self.shown_key(key)), 76);
        if enc::has_overlong_line(&folded) && is_unstructured(key) {
            // A word too long to fold (nodemailer writes the line as it comes, over 998
            // octets): encoded words split it into folds a reader joins back (RFC 2047 2).
            let word = self.encoded_word(&single_line(text));
            folded = enc::fold_lines(&format!("{}: {word}", self.shown_key(key)), 76);
        }
        Some(folded)
    }

    /// A prepared value: as given, folded if asked.
    fn prepared_line(&self, key: &str, value: &str, fold: bool) -> String {
        let line = format!("{}: {}", self.shown_key(key), sanitize_prepared(value));
        if fold {
            enc::fold_lines(&line, 76)
        } else {
            line
        }
    }

    /// One encoded word for `text`, in the forced text encoding or the one that suits it.
    fn encoded_word(&self, text: &str) -> String {
        let e = self
            .text_encoding
            .unwrap_or_else(|| enc::detect_text_encoding(text));
        enc::encode_word(text, e, 52)
    }

    /// The Content-Type value with its boundary, charset and name parameters; records the
    /// type and boundary in `block`.
    fn content_type(&self, text: &str, node: &Node, block: &mut HeaderBlock) -> String {
        let mut st: Structured = enc::parse_header_value(text);
        st.value = strip_all_controls(&st.value);
        block.content_type = st.value.trim().to_lowercase();
        if block.content_type.starts_with("multipart/") {
            let declared = strip_all_controls(st.get("boundary").unwrap_or(""));
            let b = if declared.is_empty() {
                format!("{}-Part_{}", self.boundary_base, node.id)
            } else {
                declared
            };
            st.set("boundary", &b);
            block.boundary = Some(b);
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
        let mut text = enc::build_header_value(&st);
        if let Some(f) = &node.filename {
            text.push_str("; name=");
            text.push_str(&self.name_param(f));
        }
        text
    }

    /// The `name` parameter of a named part's Content-Type: encoded words, quoted when they
    /// hold a character a parameter value cannot (lib/mime-node).
    fn name_param(&self, f: &str) -> String {
        let has_ctl = f.chars().any(|c| c <= '\u{1f}' || c == '\u{7f}');
        let mut param = if has_ctl {
            self.encoded_word(f)
        } else {
            let e = self
                .text_encoding
                .unwrap_or_else(|| enc::detect_text_encoding(f));
            enc::encode_words(f, e, 52)
        };
        if param != f
            || param
                .chars()
                .any(|c| c.is_whitespace() || "'\"\\;:/=(),<>@[]?".contains(c))
            || param.starts_with('-')
        {
            param = enc::json_quote(&param);
        }
        param
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

    /// The value part of a header line, encoded by the kind of header (see the module doc).
    fn encode_header_value(&self, key: &str, val: &HVal, text: &str) -> String {
        let forced = self.text_encoding;
        match key {
            "From" | "Sender" | "To" | "Cc" | "Bcc" | "Reply-To" => {
                convert_addresses(&val.mailboxes(), None, forced)
            }
            "Message-ID" | "In-Reply-To" | "Content-ID" => {
                if text.is_empty() {
                    String::new()
                } else {
                    msg_id_value(text)
                }
            }
            "References" => match val {
                HVal::Refs(l) => references_value(l),
                _ if text.is_empty() => String::new(),
                _ => references_value(&[text.to_string()]),
            },
            "Date" => match val {
                HVal::DateMs(ms) => format_date(*ms),
                _ => enc::encode_header_text(&single_line(text), forced),
            },
            "Content-Type" | "Content-Disposition" => single_line(text),
            _ => enc::encode_header_text(&single_line(text), forced),
        }
    }
}

/// Content-Disposition with the node's file name as its `filename` parameter.
fn content_disposition(text: &str, node: &Node) -> String {
    let mut st = enc::parse_header_value(text);
    if let Some(f) = &node.filename {
        st.set("filename", f);
    }
    enc::build_header_value(&st)
}

/// Drops the control characters nodemailer removes from ids and URLs: all but tab, LF and CR.
pub(crate) fn strip_controls(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            !((c as u32) <= 0x08
                || c == '\u{b}'
                || c == '\u{c}'
                || ('\u{e}'..='\u{1f}').contains(&c)
                || c == '\u{7f}')
        })
        .collect()
}

/// Drops every control character (C0 and DEL), as nodemailer does for content types and
/// boundaries.
pub(crate) fn strip_all_controls(s: &str) -> String {
    s.chars()
        .filter(|c| !(*c <= '\u{1f}' || *c == '\u{7f}'))
        .collect()
}

/// An id header value: one line, `<...>`.
fn msg_id_value(s: &str) -> String {
    let mut v = strip_controls(&single_line(s));
    if !v.starts_with('<') {
        v.insert(0, '<');
    }
    if !v.ends_with('>') {
        v.push('>');
    }
    v
}

/// References: each id in `<...>`, whitespace inside brackets closed up, separated by spaces.
fn references_value(list: &[String]) -> String {
    let mut ids = Vec::new();
    for entry in list {
        let elm = strip_controls(&single_line(entry));
        let elm = elm.trim();
        // close up whitespace inside <...>
        let mut closed = String::new();
        let mut rest = elm;
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

/// Line breaks as spaces.
pub(crate) fn single_line(s: &str) -> String {
    s.replace("\r\n", " ").replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_values_cannot_start_headers() {
        assert_eq!(sanitize_prepared("a\r\nBcc: x@y"), "a Bcc: x@y");
        assert_eq!(sanitize_prepared("a\r\n b"), "a\r\n b");
        assert_eq!(sanitize_prepared("a\0b\nX-Y: 1"), "ab X-Y: 1");
    }
}
