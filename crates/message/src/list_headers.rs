//! `List-*` headers from the message's `list` field (nodemailer lib/mailer/mail-message.js
//! `_getListHeaders`): each URL in angle brackets with `mailto:`/`http://` added as nodemailer
//! guesses it, comments in parentheses (or a quoted phrase for `List-ID`), written as prepared
//! values.

use crate::encoding as enc;
use crate::headers::{single_line, strip_controls};
use crate::input::OrderedMap;

fn format_list_url(url: &str) -> String {
    let url: String = strip_controls(url)
        .chars()
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
        let comment = single_line(&comment);
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

pub(crate) fn list_headers(list: &OrderedMap) -> Vec<(String, Vec<String>)> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
