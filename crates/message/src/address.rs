//! Address lists: parsing (nodemailer `addressparser` semantics), normalisation (punycode,
//! local-part quoting) and header formatting.
//!
//! The parser is hand-written because it has to reproduce nodemailer's lenient reading
//! (semicolons as separators, `Joe Foo, PhD <joe@x>` merged back, addresses found in bare text,
//! groups flattened) which no RFC 5322 crate does.

use crate::encoding::{detect_text_encoding, encode_word, quote_string};

/// One parsed entry: a mailbox (`address` set), a group (`group` set) or a bare name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mailbox {
    pub name: String,
    pub address: String,
    pub group: Option<Vec<Mailbox>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Op(char),
    Text,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    value: String,
    /// an operator directly followed by something other than whitespace or a separator
    no_break: bool,
}

struct Tokenizer {
    chars: Vec<char>,
    tokens: Vec<Token>,
    cur: Option<usize>,
    expecting: Option<char>,
    escaped: bool,
    in_literal: bool,
    after_at: bool,
    in_group: bool,
    comment_depth: usize,
    inner_quoted: bool,
    inner_comment: usize,
    inner_escaped: bool,
}

impl Tokenizer {
    fn new(s: &str) -> Self {
        Tokenizer {
            chars: s.chars().collect(),
            tokens: Vec::new(),
            cur: None,
            expecting: None,
            escaped: false,
            in_literal: false,
            after_at: false,
            in_group: false,
            comment_depth: 0,
            inner_quoted: false,
            inner_comment: 0,
            inner_escaped: false,
        }
    }

    fn closer(op: char) -> Option<char> {
        match op {
            '"' => Some('"'),
            '(' => Some(')'),
            '<' => Some('>'),
            _ => None,
        }
    }

    fn push_op(&mut self, c: char, no_break: bool) {
        self.cur = None;
        self.tokens.push(Token {
            kind: Kind::Op(c),
            value: c.to_string(),
            no_break,
        });
    }

    fn reset_inner(&mut self) {
        self.inner_quoted = false;
        self.inner_comment = 0;
        self.inner_escaped = false;
        self.comment_depth = 0;
    }

    /// Tracks quoted strings/comments inside `<...>` so their `>` does not end the angle-addr.
    fn track_inner(&mut self, c: char) -> bool {
        if self.inner_escaped {
            self.inner_escaped = false;
            return true;
        }
        if self.inner_quoted {
            if c == '\\' {
                self.inner_escaped = true;
            } else if c == '"' {
                self.inner_quoted = false;
            }
            return true;
        }
        if self.inner_comment > 0 {
            if c == '\\' {
                self.inner_escaped = true;
            } else if c == '(' {
                self.inner_comment += 1;
            } else if c == ')' {
                self.inner_comment -= 1;
            }
            return true;
        }
        if c == '"' {
            self.inner_quoted = true;
            return true;
        }
        if c == '(' {
            self.inner_comment = 1;
            return true;
        }
        false
    }

    fn tokenize(mut self) -> Vec<Token> {
        let chars = std::mem::take(&mut self.chars);
        for (i, &c) in chars.iter().enumerate() {
            self.check_char(c, chars.get(i + 1).copied());
        }
        self.tokens
            .into_iter()
            .filter_map(|mut t| {
                if t.kind == Kind::Text {
                    let v = t
                        .value
                        .trim_matches(|c: char| c == ' ' || c == '\t')
                        .to_string();
                    if v.is_empty() {
                        return None;
                    }
                    t.value = v;
                }
                Some(t)
            })
            .collect()
    }

    fn check_char(&mut self, c: char, next: Option<char>) {
        if !self.escaped && self.expecting.is_none() {
            if !self.in_literal && c == '[' && self.after_at {
                self.in_literal = true;
            } else if self.in_literal && (c == ']' || c == ',' || c == ';') {
                self.in_literal = false;
            }
        }
        let mut nested = false;
        if self.expecting == Some('>') {
            nested = self.track_inner(c);
            if !nested && c == ';' && self.in_group {
                // a group's ';' ends an angle-addr left open inside it
                self.cur = None;
                self.expecting = None;
                self.reset_inner();
            }
        } else if self.expecting == Some(')') && !self.escaped {
            // comments nest
            if c == '(' {
                self.comment_depth += 1;
            } else if c == ')' && self.comment_depth > 0 {
                self.comment_depth -= 1;
                nested = true;
            }
        }
        if self.escaped {
            // taken literally below
        } else if Some(c) == self.expecting && !nested {
            let no_break = next.is_some_and(|n| !matches!(n, ' ' | '\t' | '\r' | '\n' | ',' | ';'));
            self.push_op(c, no_break);
            if c != ')' {
                self.after_at = false;
            }
            self.expecting = None;
            self.reset_inner();
            return;
        } else if self.expecting.is_none()
            && !(self.in_literal && c == ':')
            && matches!(c, '"' | '(' | '<' | ',' | ':' | ';')
        {
            self.push_op(c, false);
            if c == ':' {
                self.in_group = true;
            } else if c == ';' {
                self.in_group = false;
            }
            if c != '(' {
                self.after_at = false;
            }
            self.expecting = Self::closer(c);
            self.reset_inner();
            return;
        } else if matches!(self.expecting, Some('"') | Some(')')) && c == '\\' {
            self.escaped = true;
            return;
        }
        let idx = match self.cur {
            Some(i) => i,
            None => {
                self.tokens.push(Token {
                    kind: Kind::Text,
                    value: String::new(),
                    no_break: false,
                });
                self.cur = Some(self.tokens.len() - 1);
                self.tokens.len() - 1
            }
        };
        let c = if c == '\n' { ' ' } else { c };
        if c as u32 >= 0x21 || c == ' ' || c == '\t' {
            self.tokens[idx].value.push(c);
            if self.expecting.is_none() && c != ' ' && c != '\t' {
                self.after_at = c == '@';
            }
        }
        self.escaped = false;
    }
}

#[derive(Default)]
struct Parts {
    address: Vec<String>,
    comment: Vec<String>,
    text: Vec<String>,
    text_quoted: Vec<bool>,
    /// where the '@' of a quoted local part starts in the text run, if the run is one
    quoted_local_at: Vec<Option<usize>>,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Address,
    Comment,
    Text,
}

fn collect_parts(tokens: &[Token]) -> (Parts, bool) {
    let mut state = State::Text;
    let mut data = Parts::default();
    let mut inside_quotes = false;
    let mut last_pure_quoted = false;
    for (i, tok) in tokens.iter().enumerate() {
        let prev = if i > 0 { Some(&tokens[i - 1]) } else { None };
        let prev_op = prev.and_then(|p| {
            if let Kind::Op(c) = p.kind {
                Some(c)
            } else {
                None
            }
        });
        let prev_no_break = prev.is_some_and(|p| p.no_break);
        if let Kind::Op(op) = tok.kind {
            match op {
                '<' => {
                    state = State::Address;
                    inside_quotes = false;
                }
                '(' => {
                    state = State::Comment;
                    inside_quotes = false;
                }
                '"' => {
                    inside_quotes = !inside_quotes;
                    state = State::Text;
                }
                _ => {
                    state = State::Text;
                    inside_quotes = false;
                }
            }
            continue;
        }
        let value = &tok.value;
        let parts = match state {
            State::Address => &mut data.address,
            State::Comment => &mut data.comment,
            State::Text => &mut data.text,
        };
        let last_char = parts.last().and_then(|p| p.chars().last());
        let joins = prev_no_break
            && !parts.is_empty()
            && (prev_op != Some(')') || last_char == Some('@') || value.starts_with('@'));
        if joins {
            let last = parts.len() - 1;
            if state == State::Text && !inside_quotes {
                if last_pure_quoted && value.starts_with('@') {
                    data.quoted_local_at[last] = Some(data.text[last].len());
                }
                last_pure_quoted = false;
            }
            let parts = match state {
                State::Address => &mut data.address,
                State::Comment => &mut data.comment,
                State::Text => &mut data.text,
            };
            parts[last].push_str(value);
            if state == State::Text && inside_quotes {
                data.text_quoted[last] = true;
            }
        } else {
            parts.push(value.clone());
            if state == State::Text {
                data.text_quoted.push(inside_quotes);
                data.quoted_local_at.push(None);
                last_pure_quoted = inside_quotes;
            }
        }
    }
    let mut from_comment = false;
    if data.text.is_empty() && !data.comment.is_empty() {
        data.text = std::mem::take(&mut data.comment);
        data.text_quoted = vec![false; data.text.len()];
        data.quoted_local_at = vec![None; data.text.len()];
        from_comment = true;
    }
    (data, from_comment)
}

/// `^[^@\s]+@[^@\s]+$`
fn is_addr_spec(v: &str) -> bool {
    match v.split_once('@') {
        Some((l, d)) => {
            !l.is_empty()
                && !d.is_empty()
                && !d.contains('@')
                && !v.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Whitespace beside a single '@' is CFWS: `user @ example.com` reads as `user@example.com`.
fn collapse_at_spacing(v: &str) -> String {
    if v.matches('@').count() != 1 {
        return v.to_string();
    }
    match v.split_once('@') {
        Some((l, d)) => format!("{}@{}", l.trim_end(), d.trim_start()),
        None => v.to_string(),
    }
}

/// Removes `(comments)` from an angle-addr.
fn strip_comments(s: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut comments = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    let mut esc = false;
    let mut quoted = false;
    for c in s.chars() {
        if depth > 0 {
            if esc {
                esc = false;
                cur.push(c);
            } else if c == '\\' {
                esc = true;
            } else if c == '(' {
                depth += 1;
                cur.push(c);
            } else if c == ')' {
                depth -= 1;
                if depth == 0 {
                    let t = cur.trim().to_string();
                    if !t.is_empty() {
                        comments.push(t);
                    }
                    cur.clear();
                } else {
                    cur.push(c);
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        if c == '"' {
            quoted = !quoted;
        }
        if c == '(' && !quoted {
            depth = 1;
            continue;
        }
        out.push(c);
    }
    (out.trim().to_string(), comments)
}

/// Finds `\s*\b[^@\s]+@[^\s]+\b\s*` in `text`: (start, end) of the trimmed address.
fn loose_address(text: &str) -> Option<(usize, usize)> {
    let at = text.find('@')?;
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    // local part: run of non-space non-@ before the '@', starting at a word boundary
    let before = &text[..at];
    // The match may be a multi-byte whitespace (U+0085, U+3000…): skip its whole width.
    let mut start = before
        .char_indices()
        .rfind(|&(_, c)| c.is_whitespace() || c == '@')
        .map_or(0, |(p, c)| p + c.len_utf8());
    while start < at && !text[start..].starts_with(word) {
        start += text[start..].chars().next().map_or(1, char::len_utf8);
    }
    if start >= at {
        return None;
    }
    let after = &text[at + 1..];
    let mut end = at + 1 + after.find(char::is_whitespace).unwrap_or(after.len());
    while end > at + 1 && !text[..end].ends_with(word) {
        end -= text[..end].chars().last().map_or(1, char::len_utf8);
    }
    if end <= at + 1 {
        return None;
    }
    Some((start, end))
}

#[cfg(test)]
mod loose_address_tests {
    #[test]
    fn multibyte_whitespace_before_the_at() {
        let text = "x\u{85}a@b.c";
        let (start, end) = super::loose_address(text).expect("address found");
        assert_eq!(&text[start..end], "a@b.c");
        assert_eq!(super::loose_address("\u{3000}\u{85}@x"), None);
    }
}

/// The local part of an address that was quoted in the input: the quotes come back only if
/// it needs them (`"a.b"@x` reads as `a.b@x`, `"john doe"@x` keeps them), as addressparser does.
fn quote_local_part(user: &str) -> String {
    let plain = !user.is_empty()
        && !user
            .chars()
            .any(|c| c.is_whitespace() || "\"(),:;<>@[\\]".contains(c));
    if plain {
        user.to_string()
    } else {
        quote_string(user)
    }
}

/// `@domain` after a quoted local part: one run without `@`, whitespace or quotes, or a literal.
fn quoted_local_domain(d: &str) -> bool {
    let Some(rest) = d.strip_prefix('@') else {
        return false;
    };
    if let Some(lit) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return !lit
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '[' | ']' | '\\'));
    }
    !rest.is_empty()
        && !rest
            .chars()
            .any(|c| c.is_whitespace() || c == '@' || c == '"')
}

fn handle_address(tokens: &[Token]) -> Mailbox {
    let (mut data, mut from_comment) = collect_parts(tokens);
    let mut address_comments = Vec::new();
    let mut addrs = Vec::new();
    for part in &data.address {
        let (a, comments) = strip_comments(part);
        address_comments.extend(comments);
        if !a.is_empty() {
            addrs.push(a);
        }
    }
    data.address = addrs;
    if data.address.is_empty() && !data.text.is_empty() && !from_comment {
        for i in 0..data.text.len() {
            let quoted_local = match (data.text_quoted[i], data.quoted_local_at[i]) {
                (true, Some(at)) if quoted_local_domain(&data.text[i][at..]) => {
                    let (l, d) = data.text[i].split_at(at);
                    Some(format!("{}{}", quote_local_part(l), d))
                }
                _ => None,
            };
            let candidate = collapse_at_spacing(&data.text[i]);
            if quoted_local.is_some() || (!data.text_quoted[i] && is_addr_spec(&candidate)) {
                let a = quoted_local.unwrap_or(candidate);
                data.address = vec![a];
                data.text.remove(i);
                data.text_quoted.remove(i);
                data.quoted_local_at.remove(i);
                break;
            }
        }
        if data.address.is_empty() {
            for i in 0..data.text.len() {
                if data.text_quoted[i] {
                    continue;
                }
                let part = data.text[i].clone();
                if let Some((s, e)) = loose_address(&part) {
                    data.address = vec![part[s..e].to_string()];
                    data.text[i] = format!("{} {}", &part[..s], &part[e..]).trim().to_string();
                    break;
                }
                data.text[i] = part.trim().to_string();
            }
        }
    }
    if data.text.is_empty() && !data.comment.is_empty() {
        data.text = std::mem::take(&mut data.comment);
    }
    if data.address.len() > 1 {
        let extra: Vec<String> = data.address.drain(1..).collect();
        data.text.extend(extra);
    }
    let mut text = data
        .text
        .iter()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let from_quoted_text = data.address.is_empty() && data.text_quoted.iter().any(|q| *q);
    let mut address = data.address.join(" ");
    if from_quoted_text {
        if let Some(at) = text.rfind('@') {
            // the mailbox is still in (partly) quoted text: put the quoting back on its local part
            address = format!("{}{}", quote_string(&text[..at]), &text[at..]);
            text.clear();
        }
    }
    if text.is_empty() && !address_comments.is_empty() {
        text = address_comments.join(" ");
        from_comment = true;
    }
    // JS `trim()` (nodemailer's) removes all Unicode white space and U+FEFF, not just ASCII.
    let address = address
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_string();
    let mut mb = Mailbox {
        address: if !address.is_empty() {
            address.clone()
        } else if from_comment {
            String::new()
        } else {
            text.clone()
        },
        name: if !text.is_empty() { text } else { address },
        group: None,
    };
    if mb.address == mb.name {
        if mb.address.contains('@') {
            mb.name.clear();
        } else {
            mb.address.clear();
        }
    }
    mb
}

fn merge_name_fragments(list: Vec<Mailbox>) -> Vec<Mailbox> {
    let mut merged: Vec<Mailbox> = Vec::new();
    for cur in list.into_iter().rev() {
        if let Some(next) = merged.last_mut() {
            if cur.address.is_empty()
                && !cur.name.is_empty()
                && cur.group.is_none()
                && !next.address.is_empty()
                && !next.name.is_empty()
            {
                next.name = format!("{}, {}", cur.name, next.name);
                continue;
            }
        }
        merged.push(cur);
    }
    merged.reverse();
    merged
}

/// Parses an address list the way nodemailer's `addressparser` does (groups kept).
pub fn parse_address_list(input: &str) -> Vec<Mailbox> {
    let tokens = Tokenizer::new(input).tokenize();
    let mut out = Vec::new();
    let mut group: Option<String> = None;
    let mut members = Vec::new();
    let mut from = 0;
    let len = tokens.len();
    for i in 0..=len {
        let op = if i < len {
            match tokens[i].kind {
                Kind::Op(c) => Some(c),
                Kind::Text => None,
            }
        } else {
            None
        };
        if i < len && !matches!(op, Some(',') | Some(';') | Some(':')) {
            continue;
        }
        if op == Some(':') {
            if group.is_none() {
                let (d, _) = collect_parts(&tokens[from..i]);
                group = Some(d.text.join(" "));
                members = Vec::new();
            }
            from = i + 1;
            continue;
        }
        if i > from {
            let mb = handle_address(&tokens[from..i]);
            if group.is_some() {
                members.push(mb);
            } else {
                out.push(mb);
            }
        }
        from = i + 1;
        if group.is_some() && (op == Some(';') || i == len) {
            out.push(Mailbox {
                name: group.take().unwrap_or_default(),
                address: String::new(),
                group: Some(merge_name_fragments(std::mem::take(&mut members))),
            });
        }
    }
    merge_name_fragments(out)
}

// ---------------------------------------------------------------------------------------------
// normalisation and formatting

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || (c as u32) >= 0x80
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(is_atext))
}

fn is_quoted_string(s: &str) -> bool {
    let b: Vec<char> = s.chars().collect();
    if b.len() < 2 || b[0] != '"' || b[b.len() - 1] != '"' {
        return false;
    }
    let mut i = 1;
    while i < b.len() - 1 {
        match b[i] {
            '\\' => {
                if i + 1 >= b.len() - 1 {
                    // the backslash would escape the closing quote
                    return false;
                }
                i += 2;
            }
            '"' => return false,
            _ => i += 1,
        }
    }
    true
}

fn normalize_local_part(user: &str) -> String {
    if is_dot_atom(user) || is_quoted_string(user) {
        user.to_string()
    } else {
        quote_string(user)
    }
}

fn exceeds_domain_limits(domain: &str) -> bool {
    domain.chars().count() > 253 || domain.split('.').any(|l| l.chars().count() > 63)
}

/// nodemailer `normalizeDomain`: WHATWG domain-to-ASCII, else per-label punycode of the
/// lowercased value. With `to_unicode` the U-label form is returned.
pub fn normalize_domain(domain: &str, to_unicode: bool) -> String {
    let unsafe_chars = domain
        .chars()
        .any(|c| "/\\?#%".contains(c) || c <= ' ' || c == '\u{7f}');
    if !unsafe_chars {
        if let Ok(ascii) = idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::URL) {
            if !ascii.is_empty() {
                if to_unicode {
                    let (u, _) = idna::domain_to_unicode(&ascii);
                    if !u.is_empty() {
                        return u;
                    }
                } else {
                    return ascii.into_owned();
                }
            }
        }
    }
    let lower = domain.to_lowercase();
    if exceeds_domain_limits(&lower) {
        return lower;
    }
    lower
        .split('.')
        .map(|label| {
            if to_unicode {
                match label
                    .strip_prefix("xn--")
                    .and_then(idna::punycode::decode_to_string)
                {
                    Some(u) => u,
                    None => label.to_string(),
                }
            } else if label.is_ascii() {
                label.to_string()
            } else {
                match idna::punycode::encode_str(label) {
                    Some(p) => format!("xn--{p}"),
                    None => label.to_string(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// nodemailer `_normalizeAddress`: strips controls and `<>`, punycodes the domain, quotes a
/// local part that is neither a dot-atom nor a quoted-string.
pub fn normalize_address(address: &str) -> String {
    let mut cleaned = String::with_capacity(address.len());
    let mut in_run = false;
    for c in address.chars() {
        if c <= '\u{1f}' || c == '\u{7f}' || c == '<' || c == '>' {
            if !in_run {
                cleaned.push(' ');
            }
            in_run = true;
        } else {
            cleaned.push(c);
            in_run = false;
        }
    }
    let address = cleaned.trim();
    if address.is_empty() {
        return String::new();
    }
    // a domain literal is split off at the '@' in front of it, dtext may hold '@'
    let mut last_at = address.rfind('@');
    if address.ends_with(']') {
        if let Some(open) = address.rfind('[') {
            let lit = &address[open..];
            if open > 0
                && address[..open].ends_with('@')
                && !lit[1..lit.len() - 1].contains(['[', ']', '\\'])
            {
                last_at = Some(open - 1);
            }
        }
    }
    let Some(at) = last_at else {
        return normalize_local_part(address);
    };
    let user = &address[..at];
    let domain = &address[at + 1..];
    let smtputf8 = !user.is_ascii();
    format!(
        "{}@{}",
        normalize_local_part(user),
        normalize_domain(domain, smtputf8)
    )
}

/// `^[^\s"(),:;<>@[\\\]]+@[^\s"(),:;<>@[\\\]]+$`
fn is_plain_address(a: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && !s
                .chars()
                .any(|c| c.is_whitespace() || "\"(),:;<>@[\\]".contains(c))
    };
    match a.split_once('@') {
        Some((l, d)) => ok(l) && ok(d),
        None => false,
    }
}

/// Display-name encoding (nodemailer `_encodeAddressName`).
pub fn encode_address_name(name: &str, forced: Option<char>) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ')
    {
        name.to_string()
    } else if crate::encoding::is_printable_ascii(name) {
        quote_string(name)
    } else {
        encode_word(
            name,
            forced.unwrap_or_else(|| detect_text_encoding(name)),
            52,
        )
    }
}

/// Mailboxes collected once each, by normalised address, in first-seen order: an envelope's
/// recipients. A hash set answers "seen?" (a scan of the list made 40,000 recipients cost
/// seconds); like nodemailer's `Set`, the key is the exact normalised address (no case folding).
#[derive(Debug, Default)]
pub struct UniqueMailboxes {
    pub list: Vec<Mailbox>,
    seen: std::collections::HashSet<String>,
}

impl UniqueMailboxes {
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, name: &str, address: &str) {
        if !self.seen.contains(address) {
            self.seen.insert(address.to_string());
            self.list.push(Mailbox {
                name: name.to_string(),
                address: address.to_string(),
                group: None,
            });
        }
    }
}

/// Formats a list for a header and, given `unique`, collects the mailboxes not yet in it.
pub fn convert_addresses(
    list: &[Mailbox],
    mut unique: Option<&mut UniqueMailboxes>,
    forced: Option<char>,
) -> String {
    let mut values = Vec::new();
    for a in list {
        if !a.address.is_empty() {
            let address = normalize_address(&a.address);
            if let Some(u) = unique.as_deref_mut() {
                u.insert(&a.name, &address);
            }
            if a.name.is_empty() {
                values.push(if is_plain_address(&address) {
                    address
                } else {
                    format!("<{address}>")
                });
            } else {
                values.push(format!(
                    "{} <{}>",
                    encode_address_name(&a.name, forced),
                    address
                ));
            }
        } else if let Some(g) = &a.group {
            let members = if g.is_empty() {
                String::new()
            } else {
                convert_addresses(g, unique.as_deref_mut(), forced)
            };
            values.push(format!(
                "{}:{};",
                encode_address_name(&a.name, forced),
                members.trim()
            ));
        }
    }
    values.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(name: &str, address: &str) -> Mailbox {
        Mailbox {
            name: name.into(),
            address: address.into(),
            group: None,
        }
    }

    #[test]
    fn parses_simple_lists() {
        assert_eq!(
            parse_address_list("andris@tr.ee"),
            vec![mb("", "andris@tr.ee")]
        );
        assert_eq!(
            parse_address_list("andris@tr.ee, Andris Reinman <andris@reinman.eu>"),
            vec![
                mb("", "andris@tr.ee"),
                mb("Andris Reinman", "andris@reinman.eu")
            ]
        );
        assert_eq!(
            parse_address_list("a@b.c; d@e.f"),
            vec![mb("", "a@b.c"), mb("", "d@e.f")]
        );
        assert_eq!(
            parse_address_list("\"reinman, andris\" <andris@tr.ee>"),
            vec![mb("reinman, andris", "andris@tr.ee")]
        );
        assert_eq!(parse_address_list("andris"), vec![mb("andris", "")]);
    }

    #[test]
    fn merges_name_fragments_and_reads_bare_text() {
        assert_eq!(
            parse_address_list("Joe Foo, PhD <joe@x>"),
            vec![mb("Joe Foo, PhD", "joe@x")]
        );
        assert_eq!(
            parse_address_list("andris reinman andris@tr.ee"),
            vec![mb("andris reinman", "andris@tr.ee")]
        );
        assert_eq!(
            parse_address_list("andris@tr.ee (Andris)"),
            vec![mb("Andris", "andris@tr.ee")]
        );
        assert_eq!(
            parse_address_list("<andris@tr.ee>"),
            vec![mb("", "andris@tr.ee")]
        );
    }

    #[test]
    fn parses_groups() {
        let g = parse_address_list("Undisclosed:;");
        assert_eq!(
            g,
            vec![Mailbox {
                name: "Undisclosed".into(),
                address: String::new(),
                group: Some(vec![])
            }]
        );
        let g = parse_address_list("Grp: c@d.com, Name <e@f.com>; x@y.z");
        assert_eq!(
            g,
            vec![
                Mailbox {
                    name: "Grp".into(),
                    address: String::new(),
                    group: Some(vec![mb("", "c@d.com"), mb("Name", "e@f.com")])
                },
                mb("", "x@y.z")
            ]
        );
    }

    #[test]
    fn quoted_local_parts_and_escapes() {
        assert_eq!(
            parse_address_list("\"john doe\"@example.com"),
            vec![mb("", "\"john doe\"@example.com")]
        );
        assert_eq!(
            parse_address_list("\"a\\\"b\" <x@y.z>"),
            vec![mb("a\"b", "x@y.z")]
        );
        // quotes that carry nothing are dropped, as addressparser drops them
        assert_eq!(
            parse_address_list("\"a.b\"@example.com, \"x y\"@example.com"),
            vec![mb("", "a.b@example.com"), mb("", "\"x y\"@example.com")]
        );
        // an address is never taken out of a quoted display name
        assert_eq!(
            parse_address_list("\"evil@x.com\" <good@y.com>"),
            vec![mb("evil@x.com", "good@y.com")]
        );
    }

    #[test]
    fn normalises_addresses() {
        assert_eq!(normalize_address("c@jõgeva.ee"), "c@xn--jgeva-dua.ee");
        assert_eq!(normalize_address("User@Example.COM"), "User@example.com");
        assert_eq!(normalize_address("õ@jõgeva.ee"), "õ@jõgeva.ee");
        assert_eq!(normalize_address("a b@x.com"), "\"a b\"@x.com");
        assert_eq!(normalize_address("a@b@x.com"), "\"a@b\"@x.com");
        assert_eq!(normalize_address("x\r\n@y.com"), "\"x \"@y.com");
    }

    #[test]
    fn formats_headers() {
        let mut u = UniqueMailboxes::new();
        let list = parse_address_list("a@example.com, Bad <bad@example.com>, \"C, Person\" <c@example.com>, Sender Näme <s@example.com>");
        assert_eq!(
            convert_addresses(&list, Some(&mut u), None),
            "a@example.com, Bad <bad@example.com>, \"C, Person\" <c@example.com>, =?UTF-8?Q?Sender_N=C3=A4me?= <s@example.com>"
        );
        assert_eq!(u.list.len(), 4);
        let list = parse_address_list("Group Name: a@example.com, b@example.com;");
        let mut u = UniqueMailboxes::new();
        assert_eq!(
            convert_addresses(&list, Some(&mut u), None),
            "Group Name:a@example.com, b@example.com;"
        );
        assert_eq!(
            u.list
                .iter()
                .map(|m| m.address.as_str())
                .collect::<Vec<_>>(),
            vec!["a@example.com", "b@example.com"]
        );
    }

    #[test]
    fn unique_mailboxes_keep_first_seen_order_and_exact_keys() {
        // duplicates across lists and groups, the first name kept; case is not folded, and
        // normalisation (punycode) happens before the comparison, as in nodemailer
        let mut u = UniqueMailboxes::new();
        let a =
            parse_address_list("A <a@example.com>, b@example.com, G: a@example.com, c@jõgeva.ee;");
        convert_addresses(&a, Some(&mut u), None);
        let b = parse_address_list("Other <a@example.com>, B@example.com, c@xn--jgeva-dua.ee");
        convert_addresses(&b, Some(&mut u), None);
        let got: Vec<(&str, &str)> = u
            .list
            .iter()
            .map(|m| (m.name.as_str(), m.address.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("A", "a@example.com"),
                ("", "b@example.com"),
                ("", "c@xn--jgeva-dua.ee"),
                ("", "B@example.com"),
            ]
        );
    }

    #[test]
    fn many_recipients_are_linear() {
        // 4x the addresses must cost about 4x, not 16x (the former list scan per address); the
        // fastest of three runs of each size, so a busy machine does not decide it
        let list = |n: usize| -> Vec<Mailbox> {
            (0..n)
                .map(|i| Mailbox {
                    name: String::new(),
                    address: format!("user{i}@example.com"),
                    group: None,
                })
                .collect()
        };
        let fastest = |l: &[Mailbox]| {
            (0..3)
                .map(|_| {
                    let t = std::time::Instant::now();
                    let mut u = UniqueMailboxes::new();
                    convert_addresses(l, Some(&mut u), None);
                    convert_addresses(l, Some(&mut u), None);
                    assert_eq!(u.list.len(), l.len());
                    t.elapsed()
                })
                .min()
                .unwrap_or_default()
        };
        let (small, large) = (list(25_000), list(100_000));
        let (a, b) = (fastest(&small), fastest(&large));
        let ratio = b.as_secs_f64() / a.as_secs_f64().max(1e-9);
        assert!(ratio < 10.0, "25,000: {a:?}, 100,000: {b:?} ({ratio:.1}x)");
    }
}
