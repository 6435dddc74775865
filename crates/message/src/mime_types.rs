//! Content types and file extensions (nodemailer lib/mime-funcs/mime-types.js): the type of an
//! attachment from its name, the extension of a derived file name from its type, and the
//! default name of an attachment that has none.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types() {
        assert_eq!(detect_mime_type("file.PDF"), "application/pdf");
        assert_eq!(detect_mime_type("bin"), "application/octet-stream");
        assert_eq!(detect_mime_type("a.png?x=1"), "image/png");
        assert_eq!(detect_extension("application/octet-stream"), "*");
        assert_eq!(detect_extension("text/plain"), "txt");
        assert_eq!(detect_extension("image/png"), "png");
    }
}
