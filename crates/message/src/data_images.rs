//! `attachDataUrls` (lib/mailer `_convertDataImages`): each `<img src="data:...">` of the html
//! becomes a `cid:` reference to a new inline attachment with the image's bytes.

use bytes::Bytes;

use crate::content::{convert_encoding, is_http, truthy_content};
use crate::data_url::{is_data_url, parse_data_url};
use crate::ids::random_hex;
use crate::input::{Attachment, ContentInput, FilenameInput, MailData, OneOrMany};
use crate::mime_node::Source;
use crate::mime_types::detect_extension;
use crate::ComposeError;

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
            return Err(ComposeError::file_access_rejected(p));
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

/// An `<img src="data:...">` of the html, as the attachment that replaces it.
pub(crate) struct DataImage<'a> {
    /// the `data:` URL, the attachment's `path`
    pub uri: &'a str,
    /// `<random hex>@localhost`; the html now says `cid:<cid>`
    pub cid: String,
    /// `image-<n>.<extension of the URL's type>`, n counting from 1
    pub filename: String,
}

/// Replaces each `<img src="data:...">` URI with `cid:<cid>`, handing each image to `add`
/// (nodemailer `_convertDataImages`).
pub(crate) fn replace_data_images(html: &str, mut add: impl FnMut(DataImage)) -> String {
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
    let mut n = 0;
    re.replace_all(html, |c: &regex::Captures| {
        n += 1;
        let cid = format!("{}@localhost", random_hex(10));
        let replaced = format!("{}cid:{cid}", &c[1]);
        add(DataImage {
            uri: &c[2],
            cid,
            filename: format!("image-{n}.{}", detect_extension(&c[3])),
        });
        replaced
    })
    .into_owned()
}

/// `attachDataUrls`: `<img src="data:...">` in the html becomes a `cid:` reference to an
/// attachment `image-N.<ext>` (nodemailer `_convertDataImages`).
pub(crate) fn convert_data_images(
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
    let replaced = replace_data_images(&text, |img| {
        added.push(Attachment {
            path: Some(img.uri.to_string()),
            cid: Some(img.cid),
            filename: Some(FilenameInput::Name(img.filename)),
            ..Default::default()
        });
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
