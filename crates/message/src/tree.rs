//! Parts → MIME tree (nodemailer lib/mail-composer `_createMixed`, `_createAlternative`,
//! `_createRelated`, `_createContentNode`): `multipart/mixed` around the body and the
//! attachments, `multipart/alternative` around the alternatives, `multipart/related` around the
//! html and its cid attachments, each level only when it has more than one part to hold.

use crate::content::{convert_encoding, Resolver, Src};
use crate::input::ContentInput;
use crate::mime_node::{HVal, Node, Source};
use crate::parts::{Element, Parts};
use crate::ComposeError;

/// Builds nodes, numbering them in creation order (the number ends each boundary).
pub(crate) struct TreeBuilder<'a> {
    pub res: Resolver<'a>,
    /// the message's `encoding`: the transfer encoding of text parts without their own
    pub mail_encoding: Option<String>,
    pub counter: usize,
}

impl TreeBuilder<'_> {
    fn next_id(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    /// The root of a `raw` message: its bytes as given.
    pub(crate) fn raw_root(&mut self, raw: &ContentInput) -> Result<Node, ComposeError> {
        let id = self.next_id();
        let mut node = Node::new(id, Some("message/rfc822"), None);
        let src = match self.res.value(raw)? {
            Source::Empty => match raw {
                ContentInput::Object(o) => {
                    self.res.object_src(o)?.unwrap_or(Src::Value(Source::Empty))
                }
                _ => Src::Value(Source::Empty),
            },
            v => Src::Value(v),
        };
        node.raw = Some(self.res.resolve(&src)?);
        Ok(node)
    }

    /// The tree for the message's parts.
    pub(crate) fn tree(&mut self, parts: &Parts) -> Result<Node, ComposeError> {
        let Parts {
            alternatives,
            html_index,
            attached,
            related,
        } = parts;
        let html = *html_index;
        let use_related = html.is_some() && !related.is_empty();
        let use_alternative = alternatives.len() > 1;
        let use_mixed = attached.len() > 1 || (!alternatives.is_empty() && attached.len() == 1);
        if use_mixed {
            let mut node = self.multipart("multipart/mixed");
            if use_alternative {
                let child = self.alternative(alternatives, html, use_related, related)?;
                node.children.push(child);
            } else if use_related {
                let child = self.related(alternatives, html, related)?;
                node.children.push(child);
            }
            let alts: &[Element] = if use_alternative { &[] } else { alternatives };
            let leaves = alts.iter().enumerate();
            let leaves = leaves.filter(|(i, _)| !use_related || Some(*i) != html);
            self.add_leaves(&mut node, leaves.map(|(_, el)| el))?;
            self.add_leaves(&mut node, attached)?;
            Ok(node)
        } else if use_alternative {
            self.alternative(alternatives, html, use_related, related)
        } else if use_related {
            self.related(alternatives, html, related)
        } else {
            let first = alternatives.first().or(attached.first());
            match first {
                Some(el) => self.content_node(el),
                None => self.content_node(&Element::empty_text()),
            }
        }
    }

    /// An empty multipart node of this type.
    fn multipart(&mut self, content_type: &str) -> Node {
        let id = self.next_id();
        Node::new(id, Some(content_type), None)
    }

    /// Appends a content node for each part, in order.
    fn add_leaves<'e>(
        &mut self,
        node: &mut Node,
        parts: impl IntoIterator<Item = &'e Element>,
    ) -> Result<(), ComposeError> {
        for el in parts {
            let child = self.content_node(el)?;
            node.children.push(child);
        }
        Ok(())
    }

    /// The alternatives, the html one replaced by its related group when there is one.
    fn alternative(
        &mut self,
        alternatives: &[Element],
        html: Option<usize>,
        use_related: bool,
        related: &[Element],
    ) -> Result<Node, ComposeError> {
        let mut node = self.multipart("multipart/alternative");
        for (i, el) in alternatives.iter().enumerate() {
            if use_related && Some(i) == html {
                let child = self.related(alternatives, html, related)?;
                node.children.push(child);
            } else {
                self.add_leaves(&mut node, [el])?;
            }
        }
        Ok(node)
    }

    /// The html alternative and the attachments it refers to by cid.
    fn related(
        &mut self,
        alternatives: &[Element],
        html: Option<usize>,
        related: &[Element],
    ) -> Result<Node, ComposeError> {
        let mut node = self.multipart("multipart/related; type=\"text/html\"");
        self.add_leaves(&mut node, html.and_then(|i| alternatives.get(i)))?;
        self.add_leaves(&mut node, related)?;
        Ok(node)
    }

    /// A leaf node: its headers (Content-Id, transfer encoding, disposition) and content.
    pub(crate) fn content_node(&mut self, el: &Element) -> Result<Node, ComposeError> {
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
            node.raw = Some(self.res.resolve(raw)?);
        } else {
            let mut content = self.res.resolve(&el.content)?;
            if let Some(e) = &el.encoding {
                content = convert_encoding(content, e);
            }
            node.set_content(content);
        }
        Ok(node)
    }
}
