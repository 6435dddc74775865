//! rustls client configuration built from [`TlsOptions`], cached per distinct options.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{ErrorCode, SmtpError};
use crate::options::TlsOptions;

/// Building a ClientConfig parses every webpki root: do it once per distinct options.
/// The cache is small and cleared when full, so options that keep changing cannot grow it.
const CACHE_LIMIT: usize = 32;

fn cache() -> &'static Mutex<HashMap<TlsOptionsKey, Arc<ClientConfig>>> {
    static CACHE: OnceLock<Mutex<HashMap<TlsOptionsKey, Arc<ClientConfig>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Everything in TlsOptions that shapes the ClientConfig (SNI is chosen per connection).
#[derive(PartialEq, Eq, Hash)]
struct TlsOptionsKey {
    reject_unauthorized: bool,
    ca: Vec<String>,
    min_version: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

fn tls_error(reason: impl std::fmt::Display, command: &str) -> SmtpError {
    SmtpError::format(
        ErrorCode::ETls,
        format!("Error initiating TLS - {reason}"),
        None,
        Some(command),
    )
}

/// The (cached) client config for `opts`. `command` is the error's `command` field.
pub(crate) fn client_config(
    opts: &TlsOptions,
    command: &str,
) -> Result<Arc<ClientConfig>, SmtpError> {
    let key = TlsOptionsKey {
        reject_unauthorized: opts.reject_unauthorized,
        ca: opts.ca.clone(),
        min_version: opts.min_version.clone(),
        cert: opts.cert.clone(),
        key: opts.key.clone(),
    };
    if let Ok(map) = cache().lock() {
        if let Some(cfg) = map.get(&key) {
            return Ok(cfg.clone());
        }
    }
    let cfg = Arc::new(build(opts, command)?);
    if let Ok(mut map) = cache().lock() {
        if map.len() >= CACHE_LIMIT {
            map.clear();
        }
        map.insert(key, cfg.clone());
    }
    Ok(cfg)
}

fn parse_certs(pem: &str, command: &str) -> Result<Vec<CertificateDer<'static>>, SmtpError> {
    let mut rd = pem.as_bytes();
    rustls_pemfile::certs(&mut rd)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(format!("invalid certificate PEM: {e}"), command))
}

fn build(opts: &TlsOptions, command: &str) -> Result<ClientConfig, SmtpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static rustls::SupportedProtocolVersion] = match opts.min_version.as_deref() {
        Some("TLSv1.3") => &[&rustls::version::TLS13],
        // rustls has nothing below 1.2, so "TLSv1"/"TLSv1.1"/"TLSv1.2" all mean 1.2+
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| tls_error(e, command))?;

    let builder = if opts.reject_unauthorized {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for pem in &opts.ca {
            for cert in parse_certs(pem, command)? {
                roots
                    .add(cert)
                    .map_err(|e| tls_error(format!("invalid CA certificate: {e}"), command))?;
            }
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
    };

    match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => {
            let chain = parse_certs(cert, command)?;
            let mut rd = key.as_bytes();
            // The key's content never goes into the error text.
            let key: PrivateKeyDer<'static> =
                rustls_pemfile::private_key(&mut rd)
                    .ok()
                    .flatten()
                    .ok_or_else(|| tls_error("invalid client private key", command))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls_error(e, command))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// The server name for SNI and verification: `servername`, else `host`.
/// rustls sends no SNI for an IP name and verifies the IP against the certificate.
pub(crate) fn server_name(
    opts: &TlsOptions,
    host: &str,
    command: &str,
) -> Result<ServerName<'static>, SmtpError> {
    let name = opts
        .servername
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or(host);
    let name = name.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(name.to_string()).map_err(|e| tls_error(e, command))
}

/// `rejectUnauthorized: false`: any certificate chain is accepted, but handshake
/// signatures are still checked so the peer must hold the certificate's key.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_caches() {
        let o = TlsOptions::default();
        let a = client_config(&o, "CONN").unwrap();
        let b = client_config(&o, "CONN").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn bad_ca_is_etls() {
        let o = TlsOptions {
            ca: vec!["-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".into()],
            ..Default::default()
        };
        let e = client_config(&o, "CONN").unwrap_err();
        assert_eq!(e.code, ErrorCode::ETls);
        assert!(
            e.message.starts_with("Error initiating TLS - "),
            "{}",
            e.message
        );
    }

    #[test]
    fn bad_key_error_has_no_key_text() {
        let ca = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../__test__/fixtures/ca.pem"
        ))
        .unwrap();
        let o = TlsOptions {
            cert: Some(ca),
            key: Some("SECRETKEYMATERIAL".into()),
            ..Default::default()
        };
        let e = client_config(&o, "CONN").unwrap_err();
        assert_eq!(
            e.message,
            "Error initiating TLS - invalid client private key"
        );
    }

    #[test]
    fn client_certificate_and_min_version() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../__test__/fixtures");
        let o = TlsOptions {
            cert: Some(std::fs::read_to_string(format!("{dir}/client.pem")).unwrap()),
            key: Some(std::fs::read_to_string(format!("{dir}/client.key")).unwrap()),
            min_version: Some("TLSv1.3".into()),
            ..Default::default()
        };
        let cfg = client_config(&o, "CONN").unwrap();
        assert!(cfg.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn server_names() {
        let o = TlsOptions::default();
        assert!(matches!(
            server_name(&o, "127.0.0.1", "CONN").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name(&o, "localhost", "CONN").unwrap(),
            ServerName::DnsName(_)
        ));
        let o = TlsOptions {
            servername: Some("mx.example.com".into()),
            ..Default::default()
        };
        match server_name(&o, "127.0.0.1", "CONN").unwrap() {
            ServerName::DnsName(d) => assert_eq!(d.as_ref(), "mx.example.com"),
            other => panic!("{other:?}"),
        }
    }
}
