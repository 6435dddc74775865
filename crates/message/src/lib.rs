//! mailer-message
