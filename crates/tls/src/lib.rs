//! The rustls client configuration of every TLS connection mailer-rs makes: SMTP (implicit
//! TLS, STARTTLS, HTTPS proxies), OAuth2 token requests and `href` fetches.
//!
//! Always the ring provider. Trust is webpki-roots plus or instead of the caller's PEM CAs
//! (`ca_replaces_roots`), or nothing at all for `rejectUnauthorized: false` (handshake
//! signatures are still checked: `Verifier`). X.509 v1 server certificates, which webpki does not
//! parse, are handled as Node's OpenSSL handles them (module `v1`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

mod v1;

#[cfg(any(test, feature = "test-util"))]
pub mod test_util;

/// Lowest TLS version offered. rustls has nothing below 1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MinVersion {
    /// TLS 1.2 and 1.3 (also what no minimum means).
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// A client certificate chain and its private key, both PEM.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientCert {
    pub cert_chain: String,
    /// Never printed (see the Debug impl) nor put in an error.
    pub key: String,
    /// Decrypts an encrypted PKCS#8 `key` (Node's `passphrase`). Never printed.
    pub passphrase: Option<String>,
}

// Manual Debug: the private key must never reach a log line.
impl fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCert")
            .field("cert_chain", &self.cert_chain)
            .field("key", &"<redacted>")
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Everything that shapes a client config (the server name is chosen per connection).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    /// `rejectUnauthorized`. When false, no certificate is checked and `ca` is not read.
    pub reject_unauthorized: bool,
    /// Trusted CA certificates, PEM (each string may hold several).
    pub ca: Vec<String>,
    /// false: `ca` adds to webpki-roots (nodemailer's SMTP behaviour here).
    /// true: a non-empty `ca` replaces them, as node's `https` `ca` does; then at least
    /// one certificate must be found in it.
    pub ca_replaces_roots: bool,
    pub min_version: Option<MinVersion>,
    pub client_cert: Option<ClientCert>,
    /// The chain is verified but not the server name: a caller's own check (Node's
    /// `checkServerIdentity`) replaces it.
    pub skip_hostname: bool,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            reject_unauthorized: true,
            ca: Vec::new(),
            ca_replaces_roots: false,
            min_version: None,
            client_cert: None,
            skip_hostname: false,
        }
    }
}

/// Why a config could not be built. Display texts are the SMTP transport's reasons (it prefixes
/// "Error initiating TLS - "); other callers match on the variant for their own messages.
/// No variant carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    #[error("{0}")]
    ProtocolVersions(rustls::Error),
    /// A `ca` string is not valid PEM.
    #[error("invalid certificate PEM: {0}")]
    CaPem(std::io::Error),
    /// A `ca` certificate is not a usable trust anchor.
    #[error("invalid CA certificate: {0}")]
    CaCertificate(rustls::Error),
    /// `ca_replaces_roots` and `ca` is not empty, but holds no certificate.
    #[error("no certificate found in ca")]
    NoCaCertificate,
    /// The client certificate chain is not valid PEM.
    #[error("invalid certificate PEM: {0}")]
    ClientCertPem(std::io::Error),
    /// No private key could be read from the client key PEM.
    #[error("invalid client private key")]
    ClientKey,
    /// The client key is encrypted and no `passphrase` was given.
    #[error("the client private key is encrypted: set tls.passphrase")]
    ClientKeyPassphrase,
    /// The client key could not be decrypted with `passphrase` (or is not PBES2 PKCS#8).
    #[error("could not decrypt the client private key: wrong tls.passphrase, or not an encrypted PKCS#8 key (PBES2)")]
    ClientKeyDecrypt,
    /// A legacy OpenSSL-encrypted PEM key (`Proc-Type: 4,ENCRYPTED`).
    #[error("legacy encrypted PEM keys are not supported: convert the key to encrypted PKCS#8 (openssl pkcs8 -topk8 -v2 aes-256-cbc)")]
    ClientKeyLegacyEncryption,
    /// rustls refused the client certificate/key pair.
    #[error("{0}")]
    ClientAuth(rustls::Error),
    /// The certificate verifier could not be built from the trust anchors.
    #[error("{0}")]
    Verifier(rustls::client::VerifierBuilderError),
}

/// Installs ring as the process-wide default provider. reqwest's `rustls-no-provider` build
/// panics without one even when given a preconfigured config; calling this again is harmless.
pub fn install_default_provider() {
    // Err only means a default is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn parse_certs(
    pem: &str,
    err: fn(std::io::Error) -> TlsConfigError,
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.to_string(),
            ))
        })
}

/// The trust anchors for `ca` (see [`TlsSettings::ca_replaces_roots`]).
pub fn root_store(ca: &[String], ca_replaces_roots: bool) -> Result<RootCertStore, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    let replace = ca_replaces_roots && !ca.is_empty();
    if !replace {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for pem in ca {
        for cert in parse_certs(pem, TlsConfigError::CaPem)? {
            roots.add(cert).map_err(TlsConfigError::CaCertificate)?;
        }
    }
    if replace && roots.is_empty() {
        return Err(TlsConfigError::NoCaCertificate);
    }
    Ok(roots)
}

/// A new client config for `settings`. Owned, because reqwest takes it by value.
pub fn client_config(settings: &TlsSettings) -> Result<ClientConfig, TlsConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static rustls::SupportedProtocolVersion] = match settings.min_version {
        Some(MinVersion::Tls13) => &[&rustls::version::TLS13],
        Some(MinVersion::Tls12) | None => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(TlsConfigError::ProtocolVersions)?;

    let trust = if settings.reject_unauthorized {
        let roots = root_store(&settings.ca, settings.ca_replaces_roots)?;
        let mut ca = Vec::new();
        for pem in &settings.ca {
            ca.extend(parse_certs(pem, TlsConfigError::CaPem)?);
        }
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(TlsConfigError::Verifier)?;
        Some(Trust {
            inner,
            anchors: v1::Anchors::new(&ca),
            skip_hostname: settings.skip_hostname,
        })
    } else {
        None
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier {
            trust,
            algs: provider.signature_verification_algorithms,
        }));

    match &settings.client_cert {
        Some(cc) => {
            let chain = parse_certs(&cc.cert_chain, TlsConfigError::ClientCertPem)?;
            let key = client_key(cc)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(TlsConfigError::ClientAuth)
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

const ENCRYPTED_PKCS8_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_PKCS8_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

/// The `ENCRYPTED PRIVATE KEY` PEM block in `pem` (other blocks around it are ignored), decrypted
/// with `passphrase` (PBES2: PBKDF2 or scrypt with AES-CBC, what OpenSSL 3 and Node write):
/// the PrivateKeyInfo DER, wiped when dropped. None when there is no such block, it does not
/// parse, or the passphrase is wrong.
pub fn decrypt_pkcs8_pem(pem: &str, passphrase: &str) -> Option<pkcs8::SecretDocument> {
    let start = pem.find(ENCRYPTED_PKCS8_BEGIN)?;
    let len = pem[start..].find(ENCRYPTED_PKCS8_END)? + ENCRYPTED_PKCS8_END.len();
    let (label, doc) = pkcs8::SecretDocument::from_pem(&pem[start..start + len]).ok()?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return None;
    }
    let enc = pkcs8::EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes()).ok()?;
    enc.decrypt(passphrase.as_bytes()).ok()
}

/// The client private key: PKCS#8, PKCS#1 or SEC1 PEM, or encrypted PKCS#8 with the
/// passphrase. The key's content never goes into an error.
fn client_key(cc: &ClientCert) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    if cc.key.contains(ENCRYPTED_PKCS8_BEGIN) {
        let pass = cc
            .passphrase
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or(TlsConfigError::ClientKeyPassphrase)?;
        let plain = decrypt_pkcs8_pem(&cc.key, pass).ok_or(TlsConfigError::ClientKeyDecrypt)?;
        return Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()));
    }
    if cc.key.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(TlsConfigError::ClientKeyLegacyEncryption);
    }
    PrivateKeyDer::from_pem_slice(cc.key.as_bytes()).map_err(|_| TlsConfigError::ClientKey)
}

/// Building a config parses every webpki root: long-lived callers share one per distinct
/// settings. The cache is small and cleared when full, so settings that keep changing cannot
/// grow it. Errors are not cached.
const CACHE_LIMIT: usize = 32;

fn cache() -> &'static Mutex<HashMap<TlsSettings, Arc<ClientConfig>>> {
    static CACHE: OnceLock<Mutex<HashMap<TlsSettings, Arc<ClientConfig>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// [`client_config`], shared: equal settings give the same `Arc`.
pub fn cached_client_config(settings: &TlsSettings) -> Result<Arc<ClientConfig>, TlsConfigError> {
    // A poisoned lock only costs the cache, never the connection.
    if let Ok(map) = cache().lock() {
        if let Some(cfg) = map.get(settings) {
            return Ok(cfg.clone());
        }
    }
    let cfg = Arc::new(client_config(settings)?);
    if let Ok(mut map) = cache().lock() {
        if map.len() >= CACHE_LIMIT {
            map.clear();
        }
        map.insert(settings.clone(), cfg.clone());
    }
    Ok(cfg)
}

/// The server certificate check of every connection. With `trust` (`rejectUnauthorized:
/// true`): webpki's verification against the roots, plus X.509 v1 server certificates vouched
/// for by a `ca` certificate (see module `v1`), and the name check left out when the caller
/// checks the identity itself. Without (`rejectUnauthorized: false`): any chain is accepted.
/// Handshake signatures are checked either way, so the peer must hold the key of the
/// certificate it presents.
#[derive(Debug)]
struct Verifier {
    trust: Option<Trust>,
    algs: WebPkiSupportedAlgorithms,
}

#[derive(Debug)]
struct Trust {
    inner: Arc<WebPkiServerVerifier>,
    anchors: v1::Anchors,
    skip_hostname: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(trust) = &self.trust else {
            return Ok(ServerCertVerified::assertion());
        };
        if v1::is_v1(end_entity) {
            trust.anchors.verify(
                end_entity,
                server_name,
                now,
                &self.algs,
                !trust.skip_hostname,
            )?;
            return Ok(ServerCertVerified::assertion());
        }
        match trust.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if trust.skip_hostname => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    /// Handshake signatures by the certificate's key: webpki's for the certificates it
    /// parses, the SubjectPublicKeyInfo read here for X.509 v1 ones.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if v1::is_v1(cert) {
            return v1::verify_tls12(message, cert, dss, &self.algs);
        }
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if v1::is_v1(cert) {
            return v1::verify_tls13(message, cert, dss, &self.algs);
        }
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests;
