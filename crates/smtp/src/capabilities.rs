//! EHLO/LHLO reply parsing (lib/smtp-connection's `_actionEHLO`), with nodemailer's loose matching rules.

/// What the server advertised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub starttls: bool,
    pub smtputf8: bool,
    pub dsn: bool,
    pub eight_bit_mime: bool,
    pub pipelining: bool,
    pub requiretls: bool,
    /// `SIZE` was advertised.
    pub size: bool,
    /// `SIZE n` with n > 0.
    pub max_size: Option<u64>,
    /// `AUTH` appears anywhere.
    pub allows_auth: bool,
    /// Recognised mechanisms in nodemailer's fixed order PLAIN, LOGIN, CRAM-MD5, XOAUTH2.
    pub auth_methods: Vec<String>,
    /// `info.ehlo`: lines without codes, minus the first (greeting-name) line. Shared: every
    /// message's `info` carries them, and a pooled connection sends thousands.
    pub ehlo_lines: std::sync::Arc<[String]>,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Byte offsets just after each case-insensitive occurrence of `name` preceded by ' ' or '-'.
fn keyword_ends(line: &str, name: &str) -> Vec<usize> {
    let hay = line.as_bytes();
    let needle = name.as_bytes();
    let mut out = Vec::new();
    if hay.len() < needle.len() + 1 {
        return out;
    }
    for i in 1..=hay.len() - needle.len() {
        if (hay[i - 1] == b' ' || hay[i - 1] == b'-')
            && hay[i..i + needle.len()].eq_ignore_ascii_case(needle)
        {
            out.push(i + needle.len());
        }
    }
    out
}

/// `/[ -]NAME\b/im`
fn has_keyword(text: &str, name: &str) -> bool {
    text.lines().any(|line| {
        keyword_ends(line, name)
            .into_iter()
            .any(|end| line.as_bytes().get(end).is_none_or(|b| !is_word(*b)))
    })
}

fn starts_with_ci(s: &str, p: &str) -> bool {
    s.len() >= p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
}

/// `/[ -]AUTH(?:(\s+|=)[^\n]*\s+|\s+|=)MECH/i`
fn has_auth_mech(text: &str, mech: &str) -> bool {
    text.lines().any(|line| {
        keyword_ends(line, "AUTH").into_iter().any(|end| {
            let rest = &line[end..];
            if let Some(r) = rest.strip_prefix('=') {
                if starts_with_ci(r, mech) {
                    return true;
                }
            }
            if !(rest.starts_with('=') || rest.starts_with(char::is_whitespace)) {
                return false;
            }
            // any whitespace run followed by MECH
            rest.char_indices()
                .any(|(i, c)| c.is_whitespace() && starts_with_ci(rest[i..].trim_start(), mech))
        })
    })
}

impl Capabilities {
    /// Parses the full text of a 2xx EHLO/LHLO reply (lines joined with `\n`).
    pub fn parse(text: &str) -> Capabilities {
        let mut c = Capabilities {
            starttls: has_keyword(text, "STARTTLS"),
            smtputf8: has_keyword(text, "SMTPUTF8"),
            dsn: has_keyword(text, "DSN"),
            eight_bit_mime: has_keyword(text, "8BITMIME"),
            pipelining: has_keyword(text, "PIPELINING"),
            requiretls: has_keyword(text, "REQUIRETLS"),
            allows_auth: has_keyword(text, "AUTH"),
            ..Default::default()
        };
        for mech in ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"] {
            if has_auth_mech(text, mech) {
                c.auth_methods.push(mech.to_string());
            }
        }
        // /[ -]SIZE(?:[ \t]+(\d+))?/im: the first occurrence decides the number
        'size: for line in text.lines() {
            if let Some(end) = keyword_ends(line, "SIZE").into_iter().next() {
                c.size = true;
                let rest = &line[end..];
                let after_ws = rest.trim_start_matches([' ', '\t']);
                if after_ws.len() < rest.len() {
                    let digits: String =
                        after_ws.chars().take_while(char::is_ascii_digit).collect();
                    c.max_size = digits.parse::<u64>().ok().filter(|n| *n > 0);
                }
                break 'size;
            }
        }
        c.ehlo_lines = text
            .lines()
            .map(|l| {
                let d = l.bytes().take_while(u8::is_ascii_digit).count();
                let l = &l[d..];
                l.strip_prefix([' ', '-']).unwrap_or(l).trim().to_string()
            })
            .filter(|l| !l.is_empty())
            .skip(1)
            .collect::<Vec<_>>()
            .into();
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_ehlo() {
        let c = Capabilities::parse(
            "250-mx.example.com Hello\n250-PIPELINING\n250-SIZE 1000000\n250-8BITMIME\n250-SMTPUTF8\n250-DSN\n250-STARTTLS\n250 AUTH LOGIN PLAIN XOAUTH2",
        );
        assert!(c.pipelining && c.eight_bit_mime && c.smtputf8 && c.dsn && c.starttls && c.size);
        assert!(!c.requiretls);
        assert_eq!(c.max_size, Some(1_000_000));
        assert!(c.allows_auth);
        assert_eq!(c.auth_methods, vec!["PLAIN", "LOGIN", "XOAUTH2"]);
        assert_eq!(
            c.ehlo_lines[..],
            vec![
                "PIPELINING",
                "SIZE 1000000",
                "8BITMIME",
                "SMTPUTF8",
                "DSN",
                "STARTTLS",
                "AUTH LOGIN PLAIN XOAUTH2"
            ]
        );
    }

    #[test]
    fn old_auth_form_and_case() {
        let c = Capabilities::parse("250-mx\n250-auth=cram-md5 login\n250 size");
        assert_eq!(c.auth_methods, vec!["LOGIN", "CRAM-MD5"]);
        assert!(c.allows_auth);
        assert!(c.size);
        assert_eq!(c.max_size, None);
    }

    #[test]
    fn word_boundaries() {
        let c = Capabilities::parse("250-mx\n250-DSNX\n250-XPIPELINING\n250 AUTHX PLAIN");
        assert!(!c.dsn);
        assert!(!c.pipelining);
        assert!(!c.allows_auth);
        assert!(c.auth_methods.is_empty());
    }

    #[test]
    fn size_zero_is_unknown() {
        let c = Capabilities::parse("250-mx\n250 SIZE 0");
        assert!(c.size);
        assert_eq!(c.max_size, None);
    }

    #[test]
    fn single_line_ehlo() {
        let c = Capabilities::parse("250 mx.example.com");
        assert_eq!(c, Capabilities::default());
    }
}
