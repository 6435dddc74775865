//! `application/x-www-form-urlencoded` as nodemailer's token fetch writes it: JS
//! `encodeURIComponent` and the ordered key/value pairs of a token request body. A leaf module:
//! the HTTP client (`http`) and the secret scrubber (`redact`, which also hides the encoded form
//! of a secret) both use it.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters `encodeURIComponent` leaves alone: alphanumerics and `-_.!~*'()`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// JS `encodeURIComponent`.
pub(crate) fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// `k=v&k=v`, each key and trimmed value encoded as nodemailer's fetch does.
pub(crate) fn form_body(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
}

/// Sets `key` to `value`, keeping the original position when it exists (JS object semantics,
/// so customParams can override `grant_type` etc. in place).
pub(crate) fn set_param(pairs: &mut Vec<(String, String)>, key: &str, value: &str) {
    match pairs.iter_mut().find(|(k, _)| k == key) {
        Some(p) => p.1 = value.to_string(),
        None => pairs.push((key.to_string(), value.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_component_matches_js() {
        // encodeURIComponent("a b+c/d?e=f&g~h*i'j(k)l!m.n_o-p\u00e9") in node:
        assert_eq!(
            encode_component("a b+c/d?e=f&g~h*i'j(k)l!m.n_o-p\u{e9}"),
            "a%20b%2Bc%2Fd%3Fe%3Df%26g~h*i'j(k)l!m.n_o-p%C3%A9"
        );
    }

    #[test]
    fn form_body_exact() {
        let mut pairs = vec![
            ("client_id".to_string(), "cid".to_string()),
            ("client_secret".to_string(), " csec ".to_string()),
            ("refresh_token".to_string(), "1/r tok".to_string()),
            ("grant_type".to_string(), "refresh_token".to_string()),
        ];
        assert_eq!(
            form_body(&pairs),
            "client_id=cid&client_secret=csec&refresh_token=1%2Fr%20tok&grant_type=refresh_token"
        );
        set_param(&mut pairs, "grant_type", "custom");
        set_param(&mut pairs, "scope", "a b");
        assert_eq!(
            form_body(&pairs),
            "client_id=cid&client_secret=csec&refresh_token=1%2Fr%20tok&grant_type=custom&scope=a%20b"
        );
    }
}
