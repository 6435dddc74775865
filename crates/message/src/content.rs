//! Where a part's content comes from (nodemailer lib/mail-composer `_createContentNode` and
//! lib/mime-node `setContent`): a string, a shared Buffer, a file `path`, a URL `href` (with
//! its `httpHeaders` and `tls`), a `data:` URL or a nested `{path|href|content}` object; with
//! the `disableFileAccess`/`disableUrlAccess` checks. Files and URLs are only opened while the
//! message streams (body.rs, fetch.rs).

use std::path::PathBuf;

use bytes::Bytes;

use crate::data_url::parse_data_url;
use crate::encoding as enc;
use crate::fetch::UrlRequest;
use crate::input::{
    Attachment, ContentInput, ContentObject, FilenameInput, HttpHeaders, StringOrList, TlsInput,
};
use crate::mime_node::Source;
use crate::ComposeError;

/// Content reference before access checks.
#[derive(Debug, Clone)]
pub(crate) enum Src {
    Value(Source),
    Path(String),
    Href(UrlRequest),
}

/// `httpHeaders` and `tls` of a content object, for its `href`.
#[derive(Debug, Clone, Default)]
struct FetchOpts {
    headers: Vec<(String, String)>,
    ca: Vec<String>,
    reject_unauthorized: bool,
}

impl FetchOpts {
    fn of(headers: &Option<HttpHeaders>, tls: &Option<TlsInput>) -> FetchOpts {
        let headers = headers.as_ref().map(|h| h.0.clone()).unwrap_or_default();
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

/// Turns content references into [`Source`]s for one message.
pub(crate) struct Resolver<'a> {
    pub buffers: &'a [Bytes],
    pub disable_file: bool,
    pub disable_url: bool,
}

/// An `http(s)://` URL (a `path` like this is fetched, as nodemailer does).
pub(crate) fn is_http(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

impl Resolver<'_> {
    /// An inline value: a string or a shared Buffer (`''` is no content, as in JS).
    pub(crate) fn value(&self, c: &ContentInput) -> Result<Source, ComposeError> {
        Ok(match c {
            ContentInput::Text(s) if s.is_empty() => Source::Empty,
            ContentInput::Text(s) => Source::Str(s.clone()),
            ContentInput::BufferRef { index } => match self.buffers.get(*index) {
                Some(b) => Source::Bytes(b.clone()),
                None => return Err(ComposeError::missing_buffer(*index)),
            },
            // an object without content/path/href/raw has no content
            ContentInput::Object(_) => Source::Empty,
        })
    }

    /// The content after the access checks; files and URLs stay references.
    pub(crate) fn resolve(&self, s: &Src) -> Result<Source, ComposeError> {
        match s {
            Src::Value(v) => Ok(v.clone()),
            Src::Path(p) => {
                if self.disable_file {
                    return Err(ComposeError::file_access_rejected(p));
                }
                Ok(Source::File(PathBuf::from(p)))
            }
            Src::Href(r) => {
                if self.disable_url {
                    return Err(ComposeError::url_access_rejected(&r.url));
                }
                // fetched while the message streams (see fetch.rs)
                Ok(Source::Url(r.clone()))
            }
        }
    }

    /// `build_src` for an attachment-shaped part (attachment, alternative, icalEvent).
    pub(crate) fn attachment_src(
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
    pub(crate) fn object_src(&self, o: &ContentObject) -> Result<Option<Src>, ComposeError> {
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

/// `encoding` as nodemailer compares it: lowercase, without `-`, `_` and spaces.
fn norm_encoding(e: &str) -> String {
    e.to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '-' | '_') && !c.is_whitespace())
        .collect()
}

/// A string given with an `encoding` (`Buffer.from(string, encoding)`): its bytes for base64,
/// hex, latin1 and the like; None for the UTF-8/ASCII names, which leave the string as it is.
pub(crate) fn decode_text(s: &str, encoding: &str) -> Option<Vec<u8>> {
    let e = norm_encoding(encoding);
    (!["utf8", "usascii", "ascii"].contains(&e.as_str())).then(|| enc::decode_string(s, &e))
}

/// [`decode_text`] applied to string content; other content is unchanged.
pub(crate) fn convert_encoding(s: Source, encoding: &str) -> Source {
    match s {
        Source::Str(st) => match decode_text(&st, encoding) {
            Some(b) => Source::Bytes(b.into()),
            None => Source::Str(st),
        },
        other => other,
    }
}

/// `contentTransferEncoding`: (whether it was given, its value when it is a non-empty string).
pub(crate) fn cte_value(v: &Option<serde_json::Value>) -> (bool, Option<String>) {
    match v {
        None | Some(serde_json::Value::Null) => (false, None),
        Some(serde_json::Value::String(s)) if !s.is_empty() => (true, Some(s.clone())),
        Some(_) => (true, None),
    }
}

/// A content field as a content object (`text: "x"` is `{content: "x"}`).
pub(crate) fn content_object_of(c: &Option<ContentInput>) -> Option<ContentObject> {
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

/// Whether JS would see the content field as set (`''` is not).
pub(crate) fn truthy_content(c: &Option<ContentInput>) -> bool {
    match c {
        None => false,
        Some(ContentInput::Text(s)) => !s.is_empty(),
        _ => true,
    }
}

/// A non-empty `filename` string.
pub(crate) fn filename_of(f: &Option<FilenameInput>) -> Option<String> {
    match f {
        Some(FilenameInput::Name(n)) if !n.is_empty() => Some(n.clone()),
        _ => None,
    }
}
