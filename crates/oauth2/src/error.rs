//! The crate's error type, carrying nodemailer's `code` string.

/// Token error. `message` never contains a secret (server-provided text is redacted).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct OAuth2Error {
    /// `"EOAUTH2"` | `"EFETCH"` | `"ETIMEDOUT"` | `"ECONFIG"`.
    pub code: &'static str,
    pub message: String,
    /// HTTP status of the token response, when there was one.
    pub status: Option<u16>,
    /// OAuth2 `error` field of the token response (RFC 6749 section 5.2).
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl OAuth2Error {
    pub const EOAUTH2: &'static str = "EOAUTH2";
    pub const EFETCH: &'static str = "EFETCH";
    pub const ETIMEDOUT: &'static str = "ETIMEDOUT";
    pub const ECONFIG: &'static str = "ECONFIG";

    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status: None,
            error: None,
            error_description: None,
        }
    }

    pub(crate) fn oauth(message: impl Into<String>) -> Self {
        Self::new(Self::EOAUTH2, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(Self::ECONFIG, message)
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_message() {
        let e = OAuth2Error::oauth("Can't create new access token for user");
        assert_eq!(e.to_string(), "Can't create new access token for user");
        assert_eq!(e.code, "EOAUTH2");
        assert_eq!(e.with_status(400).status, Some(400));
    }
}
