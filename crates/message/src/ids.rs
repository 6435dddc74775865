//! Random identifiers: the generated Message-ID, the multipart boundary base and the content
//! ids of `attachDataUrls` images, as nodemailer builds them (lib/mail-composer and
//! lib/mime-node): random hex, which only has to be unique.

/// `n` random bytes as lowercase hex (Message-IDs, boundaries). OS randomness, drawn in blocks
/// per thread: one `getrandom` call served a syscall per message (a few per cent of the
/// pooled send's CPU).
pub(crate) fn random_hex(n: usize) -> String {
    use std::cell::RefCell;
    const BLOCK: usize = 512;
    thread_local! {
        static POOL: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(n * 2);
    let mut left = n;
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        while left > 0 {
            if pool.1 >= pool.0.len() {
                pool.0 = fresh_random(BLOCK);
                pool.1 = 0;
            }
            let (buf, pos) = &mut *pool;
            let take = left.min(buf.len() - *pos);
            for &b in &buf[*pos..*pos + take] {
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
            // used bytes are wiped: nothing drawn twice, nothing left to read later
            buf[*pos..*pos + take].fill(0);
            *pos += take;
            left -= take;
        }
    });
    out
}

fn fresh_random(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    if getrandom::getrandom(&mut buf).is_err() {
        // no OS RNG: fall back to std's randomly seeded hasher, uniqueness is all we need here
        use std::hash::{BuildHasher, Hasher};
        for chunk in buf.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0),
            );
            let v = h.finish().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    buf
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
        // more than one 512-byte block, with lengths that straddle block ends
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
        // not all zero: wiped bytes are never handed out
        assert!((0..50).any(|_| random_hex(16) != "0".repeat(32)));
    }
}
