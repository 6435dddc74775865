//! Keeping secrets out of log lines and error messages.

use crate::form::encode_component;

/// nodemailer's `substr(0, 6) + '...'`, but never more than half of a short secret, so that a
/// short secret is never printed whole.
pub(crate) fn shorten(secret: &str) -> String {
    let n = secret.chars().count();
    let keep = 6.min(n / 2);
    let mut s: String = secret.chars().take(keep).collect();
    s.push_str("...");
    s
}

/// Secrets shorter than this are not scrubbed: short values (`x`, a tenant name) are not
/// credentials, and replacing every occurrence of them would garble every message.
const MIN_SECRET_LEN: usize = 8;

/// Replaces every known secret (raw or form-encoded) in server-provided or logged text.
#[derive(Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub(crate) fn add(&mut self, secret: Option<&str>) {
        if let Some(s) = secret.filter(|s| s.chars().count() >= MIN_SECRET_LEN) {
            self.secrets.push(s.to_string());
        }
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        // Longest first: a secret containing another is replaced whole.
        let mut all: Vec<(String, String)> = Vec::new();
        for s in &self.secrets {
            let short = shorten(s);
            all.push((s.clone(), short.clone()));
            let enc = encode_component(s);
            if enc != *s {
                all.push((enc, short));
            }
        }
        all.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        for (secret, short) in all {
            if out.contains(&secret) {
                out = out.replace(&secret, &short);
            }
        }
        out
    }
}

/// First `max` characters of `s`, with "..." when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push_str("...");
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_like_nodemailer_but_never_whole() {
        assert_eq!(shorten("1/XXxXxsss-xxx"), "1/XXxX...");
        assert_eq!(shorten("abcd"), "ab...");
        assert_eq!(shorten("a"), "...");
    }

    #[test]
    fn redacts_raw_and_encoded() {
        let mut r = Redactor::default();
        r.add(Some("sec ret/value+1"));
        r.add(Some(""));
        r.add(Some("x"));
        r.add(None);
        let text = "a sec ret/value+1 b sec%20ret%2Fvalue%2B1 c x";
        assert_eq!(r.redact(text), "a sec re... b sec re... c x");
    }

    #[test]
    fn truncate_chars() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé...");
    }
}
