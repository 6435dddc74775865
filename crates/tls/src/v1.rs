//! X.509 v1 server certificates, which webpki refuses to parse (`UnsupportedCertVersion`) but
//! Node's OpenSSL accepts: smtp-server's built-in certificate and many internal relays' are v1.
//!
//! - Handshake signatures are checked with the certificate's SubjectPublicKeyInfo, whatever its
//!   version ([`verify_tls12`], [`verify_tls13`]).
//! - With verification on, a v1 certificate is trusted as OpenSSL trusts it when it is given as
//!   `ca`: it, or the `ca` certificate that signed it, is in `ca`; it is within its validity
//!   period; and (v1 has no subjectAltName) its common name matches a DNS server name, as Node's
//!   `checkServerIdentity` falls back to the CN. An IP address never matches, as in Node.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, PeerMisbehaved};
use x509_cert::certificate::{CertificateInner, Raw};
use x509_cert::der::{Decode, Encode};

/// Parsed leniently (`Raw`): this only reads fields, it judges nothing by the parse.
pub(crate) type Cert = CertificateInner<Raw>;

/// Splits a DER TLV at `der`: (contents, rest). Definite lengths only, as DER requires.
fn tlv(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = der.get(1..).and_then(|r| Some((der.first()?, r)))?;
    // multi-byte tags do not occur in the fields read here
    if first & 0x1f == 0x1f {
        return None;
    }
    let (&len0, rest) = rest.split_first()?;
    let (len, rest) = if len0 < 0x80 {
        (len0 as usize, rest)
    } else {
        let n = (len0 & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

/// tbsCertificate exactly as signed (tag and length included).
fn tbs_bytes(cert: &[u8]) -> Option<&[u8]> {
    let (outer, _) = tlv(cert)?;
    let (_, after_tbs) = tlv(outer)?;
    Some(&outer[..outer.len() - after_tbs.len()])
}

/// Whether `cert` is an X.509 v1 certificate: its tbsCertificate has no `[0]` version field.
/// Unparseable input is not v1 (webpki then reports what is wrong with it).
pub(crate) fn is_v1(cert: &[u8]) -> bool {
    tbs_bytes(cert)
        .and_then(tlv)
        .and_then(|(contents, _)| contents.first().copied())
        .is_some_and(|tag| tag != 0xa0)
}

pub(crate) fn parse(cert: &[u8]) -> Result<Cert, Error> {
    Cert::from_der(cert).map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))
}

/// The SubjectPublicKeyInfo: its AlgorithmIdentifier contents (how pki-types compares them)
/// and the key bits.
struct Spki {
    alg: Vec<u8>,
    key: Vec<u8>,
    der: Vec<u8>,
}

fn spki(cert: &Cert) -> Result<Spki, Error> {
    let bad = || Error::InvalidCertificate(CertificateError::BadEncoding);
    let info = cert.tbs_certificate().subject_public_key_info();
    let alg_der = info.algorithm.to_der().map_err(|_| bad())?;
    let (alg, _) = tlv(&alg_der).ok_or_else(bad)?;
    Ok(Spki {
        alg: alg.to_vec(),
        key: info.subject_public_key.as_bytes().ok_or_else(bad)?.to_vec(),
        der: info.to_der().map_err(|_| bad())?,
    })
}

/// TLS 1.2 handshake signature by the key of `cert` (any version): every algorithm the scheme
/// maps to whose key type is the certificate's is tried, as rustls does.
pub(crate) fn verify_tls12(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algs: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, Error> {
    let candidates = algs
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == dss.scheme)
        .map(|(_, a)| *a)
        .ok_or(Error::PeerMisbehaved(
            PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme,
        ))?;
    let key = spki(&parse(cert)?)?;
    for alg in candidates {
        if alg.public_key_alg_id().as_ref() != key.alg.as_slice() {
            continue;
        }
        return alg
            .verify_signature(&key.key, message, dss.signature())
            .map(|_| HandshakeSignatureValid::assertion())
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadSignature));
    }
    Err(Error::InvalidCertificate(CertificateError::BadSignature))
}

/// TLS 1.3 handshake signature by the key of `cert` (any version).
pub(crate) fn verify_tls13(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algs: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, Error> {
    let key = spki(&parse(cert)?)?;
    rustls::crypto::verify_tls13_signature_with_raw_key(
        message,
        &SubjectPublicKeyInfoDer::from(key.der.as_slice()),
        dss,
        algs,
    )
}

/// Why a v1 server certificate is not trusted. Debug is the message: rustls shows it that way.
struct Untrusted;

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the server's certificate is an X.509 v1 certificate that is not trusted: it is \
             trusted only if it, or the certificate that signed it, is given in tls.ca (or set \
             tls.rejectUnauthorized: false to accept any certificate)",
        )
    }
}

impl fmt::Debug for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Untrusted {}

/// `ca` certificates that may vouch for a v1 server certificate.
#[derive(Debug, Default)]
pub(crate) struct Anchors(Vec<Cert>);

impl Anchors {
    pub(crate) fn new(ca: &[CertificateDer<'static>]) -> Anchors {
        // a ca entry that does not parse here is simply not a v1 anchor
        Anchors(ca.iter().filter_map(|c| Cert::from_der(c).ok()).collect())
    }

    /// Verification of a v1 end-entity certificate (see the module comment). `check_name`
    /// false leaves the name to the caller (a user `checkServerIdentity`).
    pub(crate) fn verify(
        &self,
        der: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
        algs: &WebPkiSupportedAlgorithms,
        check_name: bool,
    ) -> Result<(), Error> {
        let cert = parse(der)?;
        let tbs = tbs_bytes(der).ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let issuer = cert.tbs_certificate().issuer();
        let signed = self
            .0
            .iter()
            .filter(|ca| ca.tbs_certificate().subject() == issuer)
            .any(|ca| signed_by(&cert, tbs, ca, algs));
        if !signed {
            return Err(Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(Untrusted)),
            )));
        }
        let validity = cert.tbs_certificate().validity();
        let now = now.as_secs();
        if now < validity.not_before.to_unix_duration().as_secs() {
            return Err(Error::InvalidCertificate(CertificateError::NotValidYet));
        }
        if now > validity.not_after.to_unix_duration().as_secs() {
            return Err(Error::InvalidCertificate(CertificateError::Expired));
        }
        if check_name && !name_matches(&cert, server_name) {
            return Err(Error::InvalidCertificate(CertificateError::NotValidForName));
        }
        Ok(())
    }
}

/// Whether `ca`'s key made `cert`'s signature over `tbs`, with the algorithm `cert` names.
fn signed_by(cert: &Cert, tbs: &[u8], ca: &Cert, algs: &WebPkiSupportedAlgorithms) -> bool {
    let Ok(key) = spki(ca) else {
        return false;
    };
    let Ok(sig_alg) = Encode::to_der(cert.signature_algorithm()) else {
        return false;
    };
    let Some((sig_alg, _)) = tlv(&sig_alg) else {
        return false;
    };
    let Some(signature) = cert.signature().as_bytes() else {
        return false;
    };
    algs.all.iter().any(|alg| {
        alg.signature_alg_id().as_ref() == sig_alg
            && alg.public_key_alg_id().as_ref() == key.alg.as_slice()
            && alg.verify_signature(&key.key, tbs, signature).is_ok()
    })
}

/// Node's fallback for a certificate without subjectAltName: a DNS name against each common
/// name (case-insensitive, `*` standing for the whole leftmost label); never an IP address.
fn name_matches(cert: &Cert, server_name: &ServerName<'_>) -> bool {
    let ServerName::DnsName(name) = server_name else {
        return false;
    };
    let host = name.as_ref().trim_end_matches('.').to_ascii_lowercase();
    cert.tbs_certificate()
        .subject()
        .iter()
        .filter(|atv| atv.oid == x509_cert::der::oid::db::rfc4519::COMMON_NAME)
        .filter_map(|atv| x509_cert::ext::pkix::name::DirectoryString::try_from(&atv.value).ok())
        .any(|cn| {
            let cn = cn.value().trim_end_matches('.').to_ascii_lowercase();
            match cn.strip_prefix("*.") {
                Some(suffix) => host
                    .split_once('.')
                    .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
                None => cn == host,
            }
        })
}
