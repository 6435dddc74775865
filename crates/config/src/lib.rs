//! mailer-config
