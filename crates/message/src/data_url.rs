//! `data:` URLs (RFC 2397) as nodemailer reads them: a part's `path`/`href` that is a data URL
//! becomes its content (lib/mail-composer `_processDataUrl`). `attachDataUrls`, which turns
//! the html's data-URL images into inline attachments, is in `data_images.rs`.

use crate::encoding as enc;
use crate::input::Attachment;
use crate::mime_node::Source;

/// Whether a path/href is a `data:` URL (any case, as nodemailer tests it).
pub(crate) fn is_data_url(s: Option<&str>) -> bool {
    s.is_some_and(|s| s.len() >= 5 && s[..5].eq_ignore_ascii_case("data:"))
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
        // %XX escapes; a `%` without two hex digits stays as it is
        percent_encoding::percent_decode_str(data).collect()
    };
    Some((bytes, ct))
}

/// The decoded `data:` URL in a part's `path` (else its `href`) and the URL's content type
/// (lib/mail-composer `_processDataUrl`, which both the composer and the JSON transport run).
pub(crate) fn data_url_of(path: Option<&str>, href: Option<&str>) -> Option<(Vec<u8>, String)> {
    parse_data_url(path.filter(|p| !p.is_empty()).or(href)?)
}

/// A part whose `path` or `href` is a `data:` URL: the decoded bytes become its content, its
/// type the URL's unless it has one, and path/href are cleared.
pub(crate) fn take_data_url(a: &mut Attachment) -> Option<Source> {
    let (bytes, ct) = data_url_of(a.path.as_deref(), a.href.as_deref())?;
    if a.content_type.as_deref().is_none_or(str::is_empty) {
        a.content_type = Some(ct);
    }
    a.path = None;
    a.href = None;
    Some(Source::Bytes(bytes.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_decode_base64_and_percent_escapes() {
        assert_eq!(
            parse_data_url("data:image/png;base64,aGk="),
            Some((b"hi".to_vec(), "image/png".into()))
        );
        // a `%` without two hex digits is kept as it is
        assert_eq!(
            parse_data_url("data:,a%20b%zz%e2%82%ac%4"),
            Some((
                "a b%zz€%4".as_bytes().to_vec(),
                "application/octet-stream".into()
            ))
        );
        assert_eq!(
            parse_data_url("data:text/plain;charset=utf-8;utf8,x%41"),
            Some((b"xA".to_vec(), "text/plain".into()))
        );
        assert_eq!(parse_data_url("data:text/plain"), None);
        assert_eq!(parse_data_url("DATA:,x"), None);
    }
}
