//! The DATA body transform (nodemailer's lib/smtp-connection/data-stream.js): dot-stuffing, bare LF → CRLF, terminator, byte counts.
//! State is carried across chunks so chunk boundaries never change the output.

/// Streaming dot-stuffer. Feed chunks with [`DotStuffer::transform`], end with
/// [`DotStuffer::finish`]; output is appended to a caller-owned, reusable buffer.
#[derive(Debug, Default, Clone)]
pub struct DotStuffer {
    /// Last input byte seen; `None` at the start of the stream.
    last: Option<u8>,
    in_bytes: u64,
    out_bytes: u64,
}

impl DotStuffer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the transformed `input` to `out`.
    pub fn transform(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if input.is_empty() {
            return;
        }
        let start_len = out.len();
        out.reserve(input.len() + input.len() / 64 + 2);
        let mut prev = self.last;
        let mut run_start = 0;
        for (i, &b) in input.iter().enumerate() {
            match b {
                // a dot at stream start or right after LF is doubled
                b'.' if prev.is_none() || prev == Some(b'\n') => {
                    out.extend_from_slice(&input[run_start..=i]);
                    out.push(b'.');
                    run_start = i + 1;
                }
                // a bare LF becomes CRLF; a bare CR is left alone
                b'\n' if prev != Some(b'\r') => {
                    out.extend_from_slice(&input[run_start..i]);
                    out.extend_from_slice(b"\r\n");
                    run_start = i + 1;
                }
                _ => {}
            }
            prev = Some(b);
        }
        out.extend_from_slice(&input[run_start..]);
        self.last = prev;
        self.in_bytes += input.len() as u64;
        self.out_bytes += (out.len() - start_len) as u64;
    }

    /// Appends the terminator chosen by the last byte: `\n` → `.\r\n`, `\r` → `\n.\r\n`,
    /// otherwise (including an empty body) `\r\n.\r\n`.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let term: &[u8] = match self.last {
            Some(b'\n') => b".\r\n",
            Some(b'\r') => b"\n.\r\n",
            _ => b"\r\n.\r\n",
        };
        out.extend_from_slice(term);
        self.out_bytes += term.len() as u64;
    }

    /// Input bytes consumed so far.
    pub fn in_bytes(&self) -> u64 {
        self.in_bytes
    }

    /// Output bytes produced so far (terminator included after `finish`): `info.messageSize`.
    pub fn out_bytes(&self) -> u64 {
        self.out_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> (Vec<u8>, u64, u64) {
        let mut d = DotStuffer::new();
        let mut out = Vec::new();
        for c in chunks {
            d.transform(c, &mut out);
        }
        d.finish(&mut out);
        (out, d.in_bytes(), d.out_bytes())
    }

    #[test]
    fn crlf_message() {
        let (out, i, o) = run(&[b"Subject: x\r\n\r\nhello\r\n"]);
        assert_eq!(out, b"Subject: x\r\n\r\nhello\r\n.\r\n");
        assert_eq!(i, 21);
        assert_eq!(o, 24);
    }

    #[test]
    fn dots_doubled() {
        let (out, _, _) = run(&[b".start\r\n.\r\nmid.dle\r\n..two\r\n"]);
        assert_eq!(out, b"..start\r\n..\r\nmid.dle\r\n...two\r\n.\r\n");
    }

    #[test]
    fn dot_at_chunk_boundary() {
        let (out, _, o) = run(&[b"a\r\n", b".b\r\n", b"c\n", b".", b"d"]);
        assert_eq!(out, b"a\r\n..b\r\nc\r\n..d\r\n.\r\n");
        assert_eq!(o, out.len() as u64);
    }

    #[test]
    fn bare_lf_and_cr() {
        let (out, i, o) = run(&[b"a\nb\rc\r\n"]);
        assert_eq!(out, b"a\r\nb\rc\r\n.\r\n");
        assert_eq!(i, 7);
        assert_eq!(o, out.len() as u64);
    }

    #[test]
    fn cr_lf_split_across_chunks_is_not_bare() {
        let (out, _, _) = run(&[b"a\r", b"\nb\n"]);
        assert_eq!(out, b"a\r\nb\r\n.\r\n");
    }

    #[test]
    fn terminators() {
        assert_eq!(run(&[b"x"]).0, b"x\r\n.\r\n");
        assert_eq!(run(&[b"x\r"]).0, b"x\r\n.\r\n");
        assert_eq!(run(&[b"x\n"]).0, b"x\r\n.\r\n");
        let (out, i, o) = run(&[]);
        assert_eq!(out, b"\r\n.\r\n");
        assert_eq!((i, o), (0, 5));
    }

    #[test]
    fn same_output_for_any_split() {
        let msg: &[u8] = b".a\n..b\r\nc\r.d\n\n.\r\n.e";
        let whole = run(&[msg]);
        for split in 0..=msg.len() {
            let (a, b) = msg.split_at(split);
            assert_eq!(run(&[a, b]), whole, "split at {split}");
        }
    }
}
