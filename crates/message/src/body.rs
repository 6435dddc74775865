//! The streamed message body: in-memory parts are pre-encoded, file parts are read and encoded
//! in 64 KiB chunks while the stream is polled (a 500 MB attachment never sits in memory).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::io::{AsyncRead, ReadBuf};

use crate::encoding::{Base64Encoder, QpEncoder};

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
}

#[derive(Debug)]
pub(crate) enum Segment {
    Bytes(Bytes),
    Lazy { src: Lazy, enc: Enc },
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
                Segment::Lazy { .. } => size = None,
            }
        }
        let size = size.map(|n| n + newline_suffix(last).len() as u64);
        MessageBody {
            segments: segments.into(),
            current: None,
            last_byte: None,
            finished: false,
            size,
        }
    }

    /// Exact byte length when the whole message is in memory (no file parts).
    pub fn size_hint(&self) -> Option<u64> {
        self.size
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
    /// Reads the next raw chunk of the current lazy part: Some(Ok(empty)) at its end.
    fn poll_reader(st: &mut LazyState, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
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
                    return Poll::Ready(Ok(Vec::new()));
                };
                let mut rb = ReadBuf::new(buf);
                match Pin::new(f).poll_read(cx, &mut rb) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().to_vec())),
                }
            }
            Reader::Url(stream) => loop {
                match stream.as_mut().poll_next(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => return Poll::Ready(Ok(Vec::new())),
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                    // an empty chunk is not the end of the body
                    Poll::Ready(Some(Ok(b))) if b.is_empty() => continue,
                    Poll::Ready(Some(Ok(b))) => return Poll::Ready(Ok(b.to_vec())),
                }
            },
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
                Some(Segment::Lazy { src, enc }) => {
                    let reader = match src {
                        Lazy::File(path) => Reader::File {
                            opening: Some(Box::pin(tokio::fs::File::open(path.clone()))),
                            path,
                            file: None,
                            buf: vec![0u8; CHUNK],
                        },
                        Lazy::Url(req) => Reader::Url(crate::fetch::url_stream(req)),
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
                    if suffix.is_empty() {
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
}
