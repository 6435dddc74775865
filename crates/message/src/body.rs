//! The streamed message body: small in-memory parts are pre-encoded; file, URL and large
//! in-memory parts are encoded in 64 KiB chunks while the stream is polled (a 500 MB attachment
//! never sits in memory, and a queued message holds only a reference to its Buffers).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::io::{AsyncRead, ReadBuf};

use crate::encoding::{Base64Encoder, QpEncoder, LINE_LENGTH};

/// Transfer encoding applied to a part's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enc {
    /// as is (`binary` CTE: the bytes must not change)
    Raw,
    /// as is, but every line break (`\n`, `\r`, `\r\n`) written as CRLF (7bit/8bit parts, raw nodes)
    Lines,
    Base64,
    /// text QP also writes line breaks as CRLF; binary QP encodes lone CR/LF
    Qp {
        binary: bool,
    },
}

/// Content read while the message streams.
#[derive(Debug)]
pub(crate) enum Lazy {
    File(PathBuf),
    Url(crate::fetch::UrlRequest),
    /// an in-memory value (typically the user's Buffer, shared, not copied) encoded chunk by
    /// chunk as it is sent, so a message waiting in a queue holds no encoded copy
    Mem(Bytes),
    /// bytes made elsewhere (the output of the user's stream plugins), sent as they come
    Stream(StreamSource),
}

/// A chunk stream as a [`Lazy`] source (Debug for the enum's sake).
pub(crate) struct StreamSource(ChunkStream);

impl std::fmt::Debug for StreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamSource")
    }
}

/// In-memory values above this are encoded while streaming ([`Lazy::Mem`]); below it the eager
/// encoding is cheaper than the per-chunk bookkeeping.
pub(crate) const LAZY_MEM_THRESHOLD: usize = 64 * 1024;

/// A value's encoded length without encoding it, where that is cheap to know (the body's
/// `size_hint`); `None` for QP, whose length depends on the whole content.
pub(crate) fn encoded_len(enc: Enc, data: &[u8]) -> Option<u64> {
    let n = data.len() as u64;
    match enc {
        Enc::Raw => Some(n),
        Enc::Base64 => {
            let chars = n.div_ceil(3) * 4;
            // CRLF between 76-char lines, none after the last
            Some(chars + chars.saturating_sub(1) / LINE_LENGTH as u64 * 2)
        }
        Enc::Lines => {
            // a LF without CR before it and a CR without LF after it each gain one byte
            let mut extra = 0u64;
            for (i, &b) in data.iter().enumerate() {
                let lone = match b {
                    b'\n' => i == 0 || data[i - 1] != b'\r',
                    b'\r' => data.get(i + 1) != Some(&b'\n'),
                    _ => false,
                };
                extra += u64::from(lone);
            }
            Some(n + extra)
        }
        Enc::Qp { .. } => None,
    }
}

#[derive(Debug)]
pub(crate) enum Segment {
    Bytes(Bytes),
    Lazy {
        src: Lazy,
        enc: Enc,
    },
    /// A part with 8-bit content: as composed (`eight`), or transfer-encoded (`seven`) for a
    /// server without 8BITMIME; chosen when the body starts streaming (RFC 6152).
    Choice {
        eight: Vec<Segment>,
        seven: Vec<Segment>,
    },
}

/// Line breaks to CRLF, state carried across chunks. Written here (a dozen lines) rather than
/// taken from a crate: it has to share the chunked, incremental shape of the encoders.
#[derive(Debug, Default)]
pub(crate) struct CrlfNormalizer {
    pending_cr: bool,
}

impl CrlfNormalizer {
    pub(crate) fn transform(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len() + chunk.len() / 32 + 2);
        for &b in chunk {
            if self.pending_cr {
                self.pending_cr = false;
                out.extend_from_slice(b"\r\n");
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => out.extend_from_slice(b"\r\n"),
                _ => out.push(b),
            }
        }
        out
    }

    pub(crate) fn flush(&mut self) -> Vec<u8> {
        if std::mem::take(&mut self.pending_cr) {
            b"\r\n".to_vec()
        } else {
            Vec::new()
        }
    }
}

/// One part's transfer encoding, applied chunk by chunk.
#[derive(Debug)]
pub(crate) struct Encoder {
    enc: Enc,
    lines: CrlfNormalizer,
    b64: Base64Encoder,
    qp: QpEncoder,
}

impl Encoder {
    pub(crate) fn new(enc: Enc) -> Self {
        let binary = matches!(enc, Enc::Qp { binary: true });
        Encoder {
            enc,
            lines: CrlfNormalizer::default(),
            b64: Base64Encoder::new(),
            qp: QpEncoder::new(binary),
        }
    }

    pub(crate) fn transform(&mut self, data: &[u8]) -> Vec<u8> {
        match self.enc {
            Enc::Raw => data.to_vec(),
            Enc::Lines => self.lines.transform(data),
            Enc::Base64 => self.b64.transform(data),
            Enc::Qp { binary: true } => self.qp.transform(data).into_bytes(),
            Enc::Qp { binary: false } => {
                let d = self.lines.transform(data);
                self.qp.transform(&d).into_bytes()
            }
        }
    }

    pub(crate) fn flush(&mut self) -> Vec<u8> {
        match self.enc {
            Enc::Raw => Vec::new(),
            Enc::Lines => self.lines.flush(),
            Enc::Base64 => self.b64.flush(),
            Enc::Qp { binary: true } => self.qp.flush().into_bytes(),
            Enc::Qp { binary: false } => {
                let d = self.lines.flush();
                let mut out = self.qp.transform(&d);
                out.push_str(&self.qp.flush());
                out.into_bytes()
            }
        }
    }

    /// Encodes a whole in-memory value.
    pub(crate) fn encode_all(enc: Enc, data: &[u8]) -> Vec<u8> {
        let mut e = Encoder::new(enc);
        let mut out = e.transform(data);
        out.extend(e.flush());
        out
    }
}

/// node's fs.createReadStream chunk size; QP output depends on slice boundaries.
const CHUNK: usize = 64 * 1024;

type OpenFuture = Pin<Box<dyn Future<Output = io::Result<tokio::fs::File>> + Send>>;
type ChunkStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

enum Reader {
    File {
        path: PathBuf,
        opening: Option<OpenFuture>,
        file: Option<tokio::fs::File>,
        buf: Vec<u8>,
    },
    Url(ChunkStream),
    Mem {
        data: Bytes,
        /// chunks end outside whitespace/CR runs (see `poll_reader`)
        qp: bool,
    },
}

struct LazyState {
    reader: Reader,
    encoder: Encoder,
}

/// The composed message as a stream of byte chunks (CRLF line endings for everything the
/// composer writes; ends with a line break like nodemailer's `LastNewline`).
pub struct MessageBody {
    segments: VecDeque<Segment>,
    current: Option<LazyState>,
    last_byte: Option<u8>,
    finished: bool,
    size: Option<u64>,
    /// Whether the body ends with a line break when its content does not (see `newline_suffix`).
    final_line_break: bool,
    /// 8-bit content with no 7-bit form (a `raw` message with 8-bit bytes)
    eight_bit: bool,
    /// Set: every [`Segment::Choice`] streams its 7-bit form.
    seven_bit: Arc<AtomicBool>,
    /// Choices were fixed to their 7-bit form for good (DKIM signs the bytes as sent).
    seven_bit_fixed: bool,
    has_choice: bool,
}

impl std::fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageBody")
            .field("segments", &self.segments.len())
            .field("size", &self.size)
            .finish()
    }
}

/// The error node's fs.createReadStream gives for a failed open, e.g.
/// `ENOENT: no such file or directory, open '/x'` (the binding can read the code off the prefix).
pub(crate) fn node_open_error(e: io::Error, path: &std::path::Path) -> io::Error {
    let (code, text) = match e.kind() {
        io::ErrorKind::NotFound => ("ENOENT", "no such file or directory"),
        io::ErrorKind::PermissionDenied => ("EACCES", "permission denied"),
        io::ErrorKind::IsADirectory => ("EISDIR", "illegal operation on a directory"),
        _ => return e,
    };
    io::Error::new(
        e.kind(),
        format!("{code}: {text}, open '{}'", path.display()),
    )
}

fn newline_suffix(last: Option<u8>) -> &'static [u8] {
    match last {
        Some(b'\n') => b"",
        Some(b'\r') => b"\n",
        _ => b"\r\n",
    }
}

impl MessageBody {
    pub(crate) fn new(segments: Vec<Segment>) -> Self {
        let mut size = Some(0u64);
        let mut last = None;
        for s in &segments {
            match s {
                Segment::Bytes(b) => {
                    size = size.map(|n| n + b.len() as u64);
                    if let Some(&l) = b.last() {
                        last = Some(l);
                    }
                }
                Segment::Lazy {
                    src: Lazy::Mem(b),
                    enc,
                } => {
                    size = size.zip(encoded_len(*enc, b)).map(|(n, m)| n + m);
                    if let Some(&l) = b.last() {
                        // base64 output never ends in a line break; Lines ends in one exactly
                        // when the input does; QP leaves the size unknown anyway
                        last = Some(match enc {
                            Enc::Base64 | Enc::Qp { .. } => b'x',
                            Enc::Raw => l,
                            Enc::Lines if l == b'\r' => b'\n',
                            Enc::Lines => l,
                        });
                    }
                }
                Segment::Lazy { .. } | Segment::Choice { .. } => size = None,
            }
        }
        let size = size.map(|n| n + newline_suffix(last).len() as u64);
        let has_choice = segments.iter().any(|s| matches!(s, Segment::Choice { .. }));
        MessageBody {
            segments: segments.into(),
            current: None,
            last_byte: None,
            finished: false,
            size,
            final_line_break: true,
            eight_bit: false,
            seven_bit: Arc::new(AtomicBool::new(false)),
            seven_bit_fixed: false,
            has_choice,
        }
    }

    /// Marks a body whose 8-bit bytes have no 7-bit form.
    pub fn with_eight_bit(mut self, eight_bit: bool) -> Self {
        self.eight_bit = eight_bit;
        self
    }

    /// Whether the body may carry 8-bit bytes: the envelope declares `BODY=8BITMIME` where
    /// the server offers it (RFC 6152).
    pub fn is_eight_bit(&self) -> bool {
        self.eight_bit || (self.has_choice && !self.seven_bit_fixed)
    }

    /// The switch a connection sets when its server lacks 8BITMIME: the body's 8-bit parts
    /// then stream base64-encoded. None when the body has no such part.
    pub fn seven_bit_switch(&self) -> Option<Arc<AtomicBool>> {
        (self.has_choice && !self.seven_bit_fixed).then(|| self.seven_bit.clone())
    }

    /// Fixes every 8-bit part to its transfer-encoded form (before DKIM reads the body).
    pub fn fix_seven_bit(&mut self) {
        self.seven_bit.store(true, Ordering::Relaxed);
        self.seven_bit_fixed = true;
    }

    /// The body without the line break added at its end, or with it again. nodemailer adds that
    /// line break after the stream plugins' transforms (lib/mime-node/index.js): the message
    /// they read must not have it yet.
    pub fn set_final_line_break(&mut self, on: bool) {
        self.final_line_break = on;
    }

    /// A message whose bytes come from `stream` as they are (no encoding), ending with a line
    /// break like every composed body: the output of the user's stream plugins, which nodemailer
    /// also ends with its `LastNewline` transform.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        MessageBody::new(vec![Segment::Lazy {
            src: Lazy::Stream(StreamSource(Box::pin(stream))),
            enc: Enc::Raw,
        }])
    }

    /// Exact byte length when the whole message is in memory (no file parts).
    pub fn size_hint(&self) -> Option<u64> {
        // the size counts the final line break
        self.size.filter(|_| self.final_line_break)
    }

    /// Reads the whole message.
    pub async fn to_vec(mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut self).poll_next(cx)).await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    fn emit(&mut self, b: Vec<u8>) -> Option<Poll<Option<io::Result<Bytes>>>> {
        if b.is_empty() {
            return None;
        }
        self.last_byte = b.last().copied();
        Some(Poll::Ready(Some(Ok(Bytes::from(b)))))
    }
}

impl MessageBody {
    /// Reads the next raw chunk of the current lazy part: Ok(empty) at its end.
    fn poll_reader(st: &mut LazyState, cx: &mut Context<'_>) -> Poll<io::Result<Bytes>> {
        match &mut st.reader {
            Reader::File {
                path,
                opening,
                file,
                buf,
            } => {
                if let Some(fut) = opening.as_mut() {
                    match fut.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(node_open_error(e, path))),
                        Poll::Ready(Ok(f)) => {
                            *opening = None;
                            *file = Some(f);
                        }
                    }
                }
                let Some(f) = file.as_mut() else {
                    return Poll::Ready(Ok(Bytes::new()));
                };
                let mut rb = ReadBuf::new(buf);
                match Pin::new(f).poll_read(cx, &mut rb) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Ready(Ok(())) => Poll::Ready(Ok(Bytes::copy_from_slice(rb.filled()))),
                }
            }
            Reader::Url(stream) => loop {
                match stream.as_mut().poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => return Poll::Ready(Ok(Bytes::new())),
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                    // an empty chunk is not the end of the body
                    Poll::Ready(Some(Ok(b))) if b.is_empty() => continue,
                    Poll::Ready(Some(Ok(b))) => return Poll::Ready(Ok(b)),
                }
            },
            // a view into the shared value, no copy
            Reader::Mem { data, qp } => {
                let mut n = data.len().min(CHUNK);
                if *qp {
                    // The QP encoder stops holding back a trailing whitespace run longer than a
                    // chunk and encodes it as line-final; the eager path sees the whole value
                    // at once, so a chunk must not end inside such a run.
                    while n < data.len() && matches!(data[n - 1], b' ' | b'\t' | b'\r') {
                        n += 1;
                    }
                }
                Poll::Ready(Ok(data.split_to(n)))
            }
        }
    }
}

impl Stream for MessageBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(st) = this.current.as_mut() {
                match Self::poll_reader(st, cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => {
                        this.current = None;
                        this.finished = true;
                        this.segments.clear();
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(Ok(data)) => {
                        let out = if data.is_empty() {
                            let out = st.encoder.flush();
                            this.current = None;
                            out
                        } else {
                            st.encoder.transform(&data)
                        };
                        if let Some(r) = this.emit(out) {
                            return r;
                        }
                        continue;
                    }
                }
            }
            match this.segments.pop_front() {
                Some(Segment::Bytes(b)) => {
                    if b.is_empty() {
                        continue;
                    }
                    this.last_byte = b.last().copied();
                    return Poll::Ready(Some(Ok(b)));
                }
                Some(Segment::Choice { eight, seven }) => {
                    let chosen = if this.seven_bit.load(Ordering::Relaxed) {
                        seven
                    } else {
                        eight
                    };
                    for s in chosen.into_iter().rev() {
                        this.segments.push_front(s);
                    }
                    continue;
                }
                Some(Segment::Lazy { src, enc }) => {
                    let reader = match src {
                        Lazy::File(path) => Reader::File {
                            opening: Some(Box::pin(tokio::fs::File::open(path.clone()))),
                            path,
                            file: None,
                            buf: vec![0u8; CHUNK],
                        },
                        Lazy::Url(req) => Reader::Url(crate::fetch::url_stream(req)),
                        // read exactly as a fetched body is: chunks as they come, errors as is
                        Lazy::Stream(StreamSource(stream)) => Reader::Url(stream),
                        Lazy::Mem(data) => Reader::Mem {
                            data,
                            qp: matches!(enc, Enc::Qp { .. }),
                        },
                    };
                    this.current = Some(LazyState {
                        reader,
                        encoder: Encoder::new(enc),
                    });
                }
                None => {
                    if this.finished {
                        return Poll::Ready(None);
                    }
                    this.finished = true;
                    let suffix = newline_suffix(this.last_byte);
                    if suffix.is_empty() || !this.final_line_break {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Bytes::from_static(suffix))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_body_is_sent_as_is_with_a_final_line_break() {
        let chunks: Vec<io::Result<Bytes>> = vec![
            Ok(Bytes::from_static(b"Subject: x\r\n\r\n")),
            Ok(Bytes::new()),
            Ok(Bytes::from_static(b"body\nno CRLF here")),
        ];
        let body = MessageBody::from_stream(futures_util::stream::iter(chunks));
        assert_eq!(body.size_hint(), None);
        let out = body.to_vec().await.unwrap();
        assert_eq!(out, b"Subject: x\r\n\r\nbody\nno CRLF here\r\n");

        let ends_lf: Vec<io::Result<Bytes>> = vec![Ok(Bytes::from_static(b"a\n"))];
        let out = MessageBody::from_stream(futures_util::stream::iter(ends_lf))
            .to_vec()
            .await
            .unwrap();
        assert_eq!(out, b"a\n");

        let failing: Vec<io::Result<Bytes>> = vec![
            Ok(Bytes::from_static(b"a")),
            Err(io::Error::other("plugin failed")),
        ];
        let e = MessageBody::from_stream(futures_util::stream::iter(failing))
            .to_vec()
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "plugin failed");
    }

    #[tokio::test]
    async fn the_final_line_break_can_be_left_off() {
        let mut body = MessageBody::new(vec![Segment::Bytes(Bytes::from_static(b"a\r\n\r\nb"))]);
        assert_eq!(body.size_hint(), Some(8));
        body.set_final_line_break(false);
        assert_eq!(body.size_hint(), None);
        assert_eq!(body.to_vec().await.unwrap(), b"a\r\n\r\nb");
        let mut body = MessageBody::new(vec![Segment::Bytes(Bytes::from_static(b"b"))]);
        body.set_final_line_break(false);
        body.set_final_line_break(true);
        assert_eq!(body.to_vec().await.unwrap(), b"b\r\n");
    }

    #[test]
    fn crlf_normalizer_across_chunks() {
        let mut n = CrlfNormalizer::default();
        let mut out = n.transform(b"a\nb\r");
        out.extend(n.transform(b"\nc\r"));
        out.extend(n.transform(b"d\r\n\n"));
        out.extend(n.transform(b"e\r"));
        out.extend(n.flush());
        assert_eq!(out, b"a\r\nb\r\nc\r\nd\r\n\r\ne\r\n");
    }

    #[test]
    fn text_qp_writes_crlf_line_breaks() {
        let out = Encoder::encode_all(Enc::Qp { binary: false }, "jõ\nx\ry\r\n".as_bytes());
        assert_eq!(out, b"j=C3=B5\r\nx\r\ny\r\n");
        let out = Encoder::encode_all(Enc::Qp { binary: true }, b"a\nb");
        assert_eq!(out, b"a=0Ab");
        assert_eq!(Encoder::encode_all(Enc::Raw, b"a\nb"), b"a\nb");
        assert_eq!(Encoder::encode_all(Enc::Lines, b"a\nb"), b"a\r\nb");
    }

    const ALL_ENCS: [Enc; 5] = [
        Enc::Raw,
        Enc::Lines,
        Enc::Base64,
        Enc::Qp { binary: false },
        Enc::Qp { binary: true },
    ];

    /// Deterministic bytes: binary noise, or text with every kind of line break, trailing
    /// whitespace and multi-byte UTF-8 at varying offsets (so some straddle chunk boundaries).
    fn sample(len: usize, text: bool, seed: u64) -> Vec<u8> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (x >> 33) as u32;
            if !text {
                out.push(r as u8);
                continue;
            }
            match r % 23 {
                0 => out.push(b'\n'),
                1 => out.push(b'\r'),
                2 => out.extend_from_slice(b"\r\n"),
                3 | 4 => out.push(b' '),
                5 => out.push(b'\t'),
                6 => out.extend_from_slice("õ".as_bytes()),
                7 => out.extend_from_slice("€".as_bytes()),
                8 => out.push(b'='),
                9 => out.push(b'.'),
                _ => out.push(b'a' + (r % 26) as u8),
            }
        }
        out.truncate(len);
        out
    }

    fn lazy_body(data: &[u8], enc: Enc) -> MessageBody {
        MessageBody::new(vec![Segment::Lazy {
            src: Lazy::Mem(Bytes::copy_from_slice(data)),
            enc,
        }])
    }

    fn eager_body(data: &[u8], enc: Enc) -> MessageBody {
        MessageBody::new(vec![Segment::Bytes(Bytes::from(Encoder::encode_all(
            enc, data,
        )))])
    }

    async fn read_all(body: MessageBody) -> (Option<u64>, Vec<u8>) {
        let hint = body.size_hint();
        (hint, body.to_vec().await.unwrap())
    }

    #[tokio::test]
    async fn lazy_in_memory_encoding_matches_eager_byte_for_byte() {
        let sizes = [
            1,
            2,
            3,
            75,
            76,
            77,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            CHUNK + 2,
            2 * CHUNK - 1,
            2 * CHUNK,
            2 * CHUNK + 1,
            3 * CHUNK + 5,
        ];
        for enc in ALL_ENCS {
            for &len in &sizes {
                for (text, seed) in [(false, 1), (true, 2), (true, 3)] {
                    let data = sample(len, text, seed + len as u64);
                    let (lazy_hint, lazy) = read_all(lazy_body(&data, enc)).await;
                    let (eager_hint, eager) = read_all(eager_body(&data, enc)).await;
                    let what = format!("{enc:?} len {len} text {text}");
                    assert!(lazy == eager, "{what}: lazy output differs");
                    assert_eq!(eager_hint, Some(eager.len() as u64), "{what}");
                    match enc {
                        Enc::Qp { .. } => assert_eq!(lazy_hint, None, "{what}"),
                        _ => assert_eq!(lazy_hint, eager_hint, "{what}"),
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn lazy_edge_contents_match_eager() {
        let mut cases: Vec<Vec<u8>> = vec![
            // whitespace and CR runs across a chunk boundary and at the end
            [vec![b'a'; CHUNK - 2], vec![b' '; 10], b"b".to_vec()].concat(),
            [vec![b'a'; CHUNK - 1], b"\r\n".to_vec(), vec![b'c'; 100]].concat(),
            [vec![b'a'; CHUNK - 1], b"\r".to_vec(), vec![b'c'; 100]].concat(),
            [vec![b'a'; CHUNK], vec![b'\t'; 3]].concat(),
            [vec![b'a'; 2 * CHUNK], b"\r".to_vec()].concat(),
            [vec![b'a'; 2 * CHUNK], b"\n".to_vec()].concat(),
            // a whitespace run longer than a chunk
            [b"x".to_vec(), vec![b' '; CHUNK + 100], b"y".to_vec()].concat(),
            vec![b' '; 2 * CHUNK + 3],
            // a UTF-8 sequence cut by the chunk boundary
            [vec![b'a'; CHUNK - 1], "€".repeat(40).into_bytes()].concat(),
        ];
        for tail in ["\n", "\r\n", "=", "õ", " \n", "\t\r\n", ".", "a"] {
            let mut d = vec![b'a'; CHUNK - tail.len()];
            d.extend_from_slice(tail.as_bytes());
            d.extend_from_slice(b" b\r\n c\n\n");
            d.extend(vec![b'z'; 500]);
            cases.push(d);
        }
        cases.push(vec![b'\n'; CHUNK + 1]);
        cases.push(vec![b'\r'; CHUNK + 1]);
        for enc in ALL_ENCS {
            for (i, data) in cases.iter().enumerate() {
                let (_, lazy) = read_all(lazy_body(data, enc)).await;
                let (_, eager) = read_all(eager_body(data, enc)).await;
                assert!(lazy == eager, "{enc:?} case {i}: lazy output differs");
            }
        }
    }

    #[test]
    fn encoded_len_is_exact() {
        for enc in [Enc::Raw, Enc::Lines, Enc::Base64] {
            for len in [0, 1, 2, 3, 56, 57, 58, 100, 1000] {
                let data = sample(len, true, len as u64);
                assert_eq!(
                    encoded_len(enc, &data),
                    Some(Encoder::encode_all(enc, &data).len() as u64),
                    "{enc:?} {len}"
                );
            }
        }
        assert_eq!(encoded_len(Enc::Lines, b"\r"), Some(2));
        assert_eq!(encoded_len(Enc::Lines, b"\n\r\n\r"), Some(6));
        assert_eq!(encoded_len(Enc::Qp { binary: true }, b"a"), None);
    }

    /// Owner that reports when the last reference to its bytes goes.
    struct Tracked {
        data: Vec<u8>,
        dropped: std::sync::Arc<std::sync::atomic::AtomicBool>,
    }

    impl AsRef<[u8]> for Tracked {
        fn as_ref(&self) -> &[u8] {
            &self.data
        }
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.dropped
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn tracked(data: Vec<u8>) -> (Bytes, std::sync::Arc<std::sync::atomic::AtomicBool>) {
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let b = Bytes::from_owner(Tracked {
            data,
            dropped: dropped.clone(),
        });
        (b, dropped)
    }

    #[tokio::test]
    async fn large_buffers_are_shared_not_copied_and_released_after_sending() {
        use std::sync::atomic::Ordering;
        let data = sample(LAZY_MEM_THRESHOLD + 1, false, 9);
        let (buf, dropped) = tracked(data.clone());
        let ptr = buf.as_ptr();
        let mail: crate::MailData = serde_json::from_str(
            r#"{"from":"a@b.c","to":"d@e.f","text":"hi",
                "attachments":[{"filename":"a.bin","content":{"$bufferIndex":0}},
                               {"raw":{"$bufferIndex":0}}]}"#,
        )
        .unwrap();
        let compiled = crate::compile(mail, vec![buf], &Default::default()).unwrap();
        let mem: Vec<(*const u8, Enc)> = compiled
            .body
            .segments
            .iter()
            .filter_map(|s| match s {
                Segment::Lazy {
                    src: Lazy::Mem(b),
                    enc,
                } => Some((b.as_ptr(), *enc)),
                _ => None,
            })
            .collect();
        assert_eq!(mem, vec![(ptr, Enc::Base64), (ptr, Enc::Lines)]);
        assert!(!dropped.load(Ordering::SeqCst));
        let out = compiled.body.to_vec().await.unwrap();
        assert!(dropped.load(Ordering::SeqCst));
        let b64 = String::from_utf8(Encoder::encode_all(Enc::Base64, &data)).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains(&format!("\r\n\r\n{b64}\r\n----")),
            "base64 part"
        );

        // small buffers are encoded at once; `binary` content is the shared bytes as they are
        let (small, small_dropped) = tracked(b"tiny".to_vec());
        let mail: crate::MailData = serde_json::from_str(
            r#"{"from":"a@b.c","to":"d@e.f","text":{"$bufferIndex":0},
                "attachments":[{"content":{"$bufferIndex":1},"contentTransferEncoding":"binary"}]}"#,
        )
        .unwrap();
        let (big, big_dropped) = tracked(data.clone());
        let big_ptr = big.as_ptr();
        let compiled = crate::compile(mail, vec![small, big], &Default::default()).unwrap();
        assert!(small_dropped.load(Ordering::SeqCst));
        // 8-bit `binary` content is a choice: as is (8BITMIME) or base64 (see Segment::Choice)
        let as_is: Vec<&Segment> = compiled
            .body
            .segments
            .iter()
            .flat_map(|s| match s {
                Segment::Choice { eight, .. } => eight.iter().collect::<Vec<_>>(),
                other => vec![other],
            })
            .collect();
        assert!(!as_is.iter().any(|s| matches!(s, Segment::Lazy { .. })));
        assert!(as_is
            .iter()
            .any(|s| matches!(s, Segment::Bytes(b) if b.as_ptr() == big_ptr)));
        assert!(compiled.body.is_eight_bit());
        drop(compiled);
        assert!(big_dropped.load(Ordering::SeqCst));
    }
}
