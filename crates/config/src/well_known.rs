//! The well-known services table (nodemailer `lib/well-known`).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// nodemailer 10.6.1 `services.json`, unchanged (MIT-0 data).
const SERVICES_JSON: &str = include_str!("services.json");

type Entry = Map<String, Value>;

/// The raw table, parsed once. The file is compiled in and checked by the tests, so a parse
/// failure cannot come from user input; it degrades to an empty table rather than panicking.
fn raw_table() -> &'static Map<String, Value> {
    static RAW: OnceLock<Map<String, Value>> = OnceLock::new();
    RAW.get_or_init(|| serde_json::from_str(SERVICES_JSON).unwrap_or_default())
}

/// Normalised key → entry without `aliases`/`domains`. Every name, alias and domain of an
/// entry points to the same entry. No two services share a normalised key (checked by a
/// test), so the order in which entries are indexed does not matter.
fn index() -> &'static HashMap<String, Entry> {
    static INDEX: OnceLock<HashMap<String, Entry>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = HashMap::new();
        for (name, service) in raw_table() {
            let Some(service) = service.as_object() else {
                continue;
            };
            let entry: Entry = service
                .iter()
                .filter(|(k, _)| k.as_str() != "aliases" && k.as_str() != "domains")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            index.insert(normalize_key(name), entry.clone());
            for list in ["aliases", "domains"] {
                for key in lookup_keys(service.get(list)) {
                    index.insert(normalize_key(key), entry.clone());
                }
            }
        }
        index
    })
}

/// `[].concat(value || [])`: a list of strings, or a single string.
fn lookup_keys(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

/// `key.replace(/[^a-zA-Z0-9.-]/g, '').toLowerCase()`
fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Resolves a service by name (`'Gmail'`), alias (`'Google Mail'`), domain (`'gmail.com'`)
/// or e-mail address (`'me@googlemail.com'`, the part after the last `@` is used).
/// Returns the entry without `aliases`/`domains`, values as in the table (so `qiye.aliyun`
/// keeps `port: "465"` as a string, as nodemailer does), or `None` (nodemailer: `false`).
pub fn well_known(service: &str) -> Option<Map<String, Value>> {
    let key = service.rsplit('@').next().unwrap_or(service);
    index().get(&normalize_key(key)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn table_size_matches_nodemailer_10_6_1() {
        // The reference text counted 88 entries in nodemailer 9.0.5; 10.6.1 ships 93.
        assert_eq!(raw_table().len(), 93);
    }

    #[test]
    fn no_two_services_share_a_lookup_key() {
        let mut owner: HashMap<String, &str> = HashMap::new();
        for (name, service) in raw_table() {
            let mut keys = vec![name.as_str()];
            keys.extend(lookup_keys(service.get("aliases")));
            keys.extend(lookup_keys(service.get("domains")));
            for key in keys {
                let prev = owner.insert(normalize_key(key), name);
                assert!(
                    prev.is_none() || prev == Some(name),
                    "{key}: {prev:?} vs {name}"
                );
            }
        }
        assert_eq!(owner.len(), 157);
        assert_eq!(index().len(), 157);
    }

    #[test]
    fn gmail_by_name_alias_domain_and_address() {
        let gmail = obj(json!({
            "description": "Gmail", "host": "smtp.gmail.com", "port": 465, "secure": true
        }));
        for key in [
            "Gmail",
            "google mail",
            "gmail.com",
            "me@googlemail.com",
            "a@b@GMAIL",
        ] {
            assert_eq!(well_known(key), Some(gmail.clone()), "{key}");
        }
    }

    #[test]
    fn outlook365() {
        assert_eq!(
            well_known("Outlook365"),
            Some(obj(json!({
                "description": "Microsoft 365 / Office 365",
                "host": "smtp.office365.com", "port": 587, "secure": false
            })))
        );
    }

    #[test]
    fn maildev_has_no_host() {
        assert_eq!(
            well_known("Maildev"),
            Some(obj(json!({
                "description": "MailDev (local email testing)", "port": 1025, "ignoreTLS": true
            })))
        );
    }

    #[test]
    fn qiye_aliyun_keeps_string_port() {
        assert_eq!(
            well_known("qiye.aliyun"),
            Some(obj(json!({
                "description": "Alibaba Mail Enterprise Edition",
                "host": "smtp.mxhichina.com", "port": "465", "secure": true
            })))
        );
    }

    #[test]
    fn ses_region_entries() {
        assert_eq!(
            well_known("ses-us-west-2"),
            Some(obj(json!({
                "description": "AWS SES US West (Oregon)",
                "host": "email-smtp.us-west-2.amazonaws.com", "port": 465, "secure": true
            })))
        );
    }

    #[test]
    fn unknown_is_none() {
        assert_eq!(well_known("nope"), None);
        assert_eq!(well_known(""), None);
        assert_eq!(well_known("me@"), None);
        // JS prototype names are not services
        assert_eq!(well_known("constructor"), None);
    }

    #[test]
    fn normalize_key_strips_and_lowercases() {
        assert_eq!(normalize_key(" Google_Mail!.COM-x "), "googlemail.com-x");
    }
}
