//! Random identifiers: the generated Message-ID, the multipart boundary base and the content
//! ids of `attachDataUrls` images, as nodemailer builds them (lib/mail-composer and
//! lib/mime-node): random hex, which only has to be unique.

/// `n` random bytes as lowercase hex (Message-IDs, boundaries, image cids), from the thread's
/// CSPRNG: no system call per message, as a `getrandom` call per id cost a few per cent of a
/// pooled send's CPU.
pub(crate) fn random_hex(n: usize) -> String {
    use rand::Rng as _;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rng = rand::rng();
    let mut out = String::with_capacity(n * 2);
    let mut block = [0u8; 32];
    let mut left = n;
    while left > 0 {
        let take = left.min(block.len());
        rng.fill_bytes(&mut block[..take]);
        for &b in &block[..take] {
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
        left -= take;
    }
    out
}

/// A generated Message-ID (lib/mail-composer `_generateMessageId`): `<8-4-4-4-12 hex@domain>`,
/// the domain taken from `from` (the envelope sender, else the hostname, else `localhost`).
pub(crate) fn message_id(from: &str) -> String {
    let domain = from.rsplit('@').next().unwrap_or("localhost");
    format!(
        "<{}-{}-{}-{}-{}@{domain}>",
        random_hex(4),
        random_hex(2),
        random_hex(2),
        random_hex(2),
        random_hex(6),
    )
}

/// The base every multipart boundary of one message extends with `-Part_<node id>`
/// (lib/mime-node: `--_NmP-<random>`); the prefix and base can be set by the message, control
/// characters are dropped.
pub(crate) fn boundary_base(prefix: Option<&str>, base: Option<&str>) -> String {
    let base = base
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| random_hex(8));
    let prefix = prefix.filter(|b| !b.is_empty()).unwrap_or("--_NmP");
    format!("{prefix}-{base}")
        .chars()
        .filter(|c| !(*c <= '\u{1f}' || *c == '\u{7f}'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_is_hex_of_the_asked_length_and_does_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        // lengths below and above one 32-byte block
        for i in 0..2000 {
            let n = 1 + i % 13;
            let h = random_hex(n);
            assert_eq!(h.len(), n * 2);
            assert!(h
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            if n >= 8 {
                assert!(seen.insert(h), "repeated value");
            }
        }
        // not a constant
        assert!((0..50).any(|_| random_hex(16) != "0".repeat(32)));
    }

    #[test]
    fn random_hex_longer_than_a_block() {
        let h = random_hex(80);
        assert_eq!(h.len(), 160);
        assert_ne!(&h[..64], &h[64..128]);
    }
}
