//! Invariants for `mailer_message::parse_address_list`, shared by the cargo-fuzz target and
//! `crates/message/tests/fuzz_corpus.rs`. Input: any bytes, read as lossy UTF-8.

use mailer_message::{parse_address_list, Mailbox};

fn walk(list: &[Mailbox], depth: usize, total: &mut usize) {
    for m in list {
        *total += 1;
        assert!(
            !m.address.contains(['\r', '\n']),
            "CR/LF in address {:?}",
            m.address
        );
        assert!(!m.name.contains(['\r', '\n']), "CR/LF in name {:?}", m.name);
        assert_eq!(m.address.trim(), m.address, "address not trimmed");
        if let Some(g) = &m.group {
            assert_eq!(depth, 0, "groups are flattened: no group inside a group");
            assert!(m.address.is_empty(), "a group has no address");
            walk(g, depth + 1, total);
        }
    }
}

pub fn check(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    let list = parse_address_list(&input);
    let mut total = 0;
    walk(&list, 0, &mut total);
    // output is bounded by the input: every entry consumes at least one character
    assert!(
        total <= input.chars().count() + 1,
        "{total} entries from {} chars",
        input.chars().count()
    );
    assert_eq!(parse_address_list(&input), list, "deterministic");
}
