//! The message's parts before they become MIME nodes (nodemailer lib/mail-composer
//! `_getAlternatives` and `_getAttachments`): text, watchHtml, amp, html, the calendar event
//! and `alternatives` as alternatives; `attachments` (and the calendar event again) as
//! attachments; each with its content type, disposition, transfer encoding, file name and
//! content reference worked out as nodemailer does.

use crate::content::{content_object_of, cte_value, filename_of, truthy_content, Resolver, Src};
use crate::data_url::take_data_url;
use crate::input::{
    Attachment, ContentInput, ContentObject, FilenameInput, HeaderValueInput, HeadersInput,
    MailData, OneOrMany,
};
use crate::mime_node::Source;
use crate::mime_types::{default_attachment_filename, detect_mime_type};
use crate::ComposeError;

/// One leaf part: what becomes a content node.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub content_type: String,
    pub content_disposition: Option<String>,
    pub cte: Option<String>,
    pub filename: Option<String>,
    pub cid: Option<String>,
    pub content: Src,
    pub raw: Option<Src>,
    pub encoding: Option<String>,
    pub headers: Option<HeadersInput>,
}

impl Element {
    /// The empty `text/plain` part of a message without content.
    pub(crate) fn empty_text() -> Element {
        Element {
            content_type: "text/plain".into(),
            content_disposition: None,
            cte: None,
            filename: None,
            cid: None,
            content: Src::Value(Source::Empty),
            raw: None,
            encoding: None,
            headers: None,
        }
    }
}

/// The message's parts, sorted as the MIME tree needs them.
pub(crate) struct Parts {
    pub alternatives: Vec<Element>,
    /// the last text/html alternative: the one `related` parts go with
    pub html_index: Option<usize>,
    /// attachments without a cid (all of them without html), then the calendar invite
    pub attached: Vec<Element>,
    /// attachments with a cid, when there is html
    pub related: Vec<Element>,
}

/// A content object (`text: {path}`, `icalEvent: {...}`) as an attachment-shaped part.
fn as_attachment(o: ContentObject) -> Attachment {
    Attachment {
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
    }
}

impl Resolver<'_> {
    /// All parts of the message, in nodemailer's order (alternatives, attachments, invite).
    pub(crate) fn parts(&self, data: &MailData) -> Result<Parts, ComposeError> {
        let ical = content_object_of(&data.ical_event).filter(|_| truthy_content(&data.ical_event));
        let alternatives = self.alternatives(data, ical.clone())?;
        let html_index = alternatives.iter().rposition(|a| {
            let ct = a.content_type.to_lowercase();
            ct.starts_with("text/html")
                && !ct[9..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        });
        let mut attachments = Vec::new();
        let list = data.attachments.clone().map(OneOrMany::into_vec);
        for (i, a) in list.unwrap_or_default().into_iter().enumerate() {
            attachments.push(self.attachment(a, i)?);
        }
        let invite = ical.map(|ev| self.ical_attachment(ev)).transpose()?;
        let (mut attached, related): (Vec<Element>, Vec<Element>) = if html_index.is_some() {
            attachments.into_iter().partition(|a| a.cid.is_none())
        } else {
            (attachments, Vec::new())
        };
        attached.extend(invite);
        Ok(Parts {
            alternatives,
            html_index,
            attached,
            related,
        })
    }

    /// text, watchHtml, amp, html, the calendar event and `alternatives`, in that order.
    fn alternatives(
        &self,
        data: &MailData,
        ical: Option<ContentObject>,
    ) -> Result<Vec<Element>, ComposeError> {
        let mut objs: Vec<(Attachment, Option<String>)> = Vec::new();
        for (field, ct) in [
            (&data.text, "text/plain; charset=utf-8"),
            (&data.watch_html, "text/watch-html; charset=utf-8"),
            (&data.amp, "text/x-amp-html; charset=utf-8"),
            (&data.html, "text/html; charset=utf-8"),
        ] {
            if truthy_content(field) {
                if let Some(o) = content_object_of(field) {
                    objs.push((as_attachment(o), Some(ct.to_string())));
                }
            }
        }
        if let Some(ev) = ical {
            let method = ev
                .method
                .clone()
                .unwrap_or_else(|| "PUBLISH".into())
                .trim()
                .to_uppercase();
            let mut a = as_attachment(ev);
            a.filename = Some(FilenameInput::Flag(false));
            a.content_type = Some(format!("text/calendar; charset=utf-8; method={method}"));
            objs.push((a, None));
        }
        if let Some(alts) = data.alternatives.clone() {
            objs.extend(alts.into_vec().into_iter().map(|a| (a, None)));
        }
        let mut out = Vec::with_capacity(objs.len());
        for (mut a, forced_ct) in objs {
            let data_content = take_data_url(&mut a);
            let content_type = forced_ct
                .or(a.content_type.clone().filter(|c| !c.is_empty()))
                .unwrap_or_else(|| {
                    detect_mime_type(
                        &filename_of(&a.filename)
                            .or(a.path.clone())
                            .or(a.href.clone())
                            .unwrap_or_else(|| "txt".into()),
                    )
                });
            let (content, raw) = self.attachment_src(&a, data_content)?;
            out.push(Element {
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
        Ok(out)
    }

    /// The `i`th entry of `attachments`.
    fn attachment(&self, mut a: Attachment, i: usize) -> Result<Element, ComposeError> {
        let data_content = take_data_url(&mut a);
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
                (_, Some(ContentInput::BufferRef { index })) => {
                    self.buffers.get(*index).map(|b| &b[..])
                }
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
        let (content, raw) = self.attachment_src(&a, data_content)?;
        Ok(Element {
            content_type,
            content_disposition: Some(content_disposition),
            cte,
            filename,
            cid,
            content,
            raw,
            encoding: a.encoding.clone().filter(|e| !e.is_empty()),
            headers: a.headers.clone(),
        })
    }

    /// The calendar event again as an `invite.ics` attachment (`application/ics`, base64).
    fn ical_attachment(&self, ev: ContentObject) -> Result<Element, ComposeError> {
        let mut a = as_attachment(ev);
        let data_content = take_data_url(&mut a);
        let (content, raw) = self.attachment_src(&a, data_content)?;
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
        Ok(Element {
            content_type: "application/ics".into(),
            content_disposition: None,
            cte: cte_value(&a.content_transfer_encoding).1,
            filename: Some(filename_of(&a.filename).unwrap_or_else(|| "invite.ics".into())),
            cid: None,
            content,
            raw,
            encoding: a.encoding.clone().filter(|e| !e.is_empty()),
            headers: Some(HeadersInput::Map(headers)),
        })
    }
}

/// Content of a `message/*` attachment that can be labelled 7bit: ASCII, no NUL, lines ≤ 998.
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
