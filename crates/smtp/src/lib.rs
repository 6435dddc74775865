//! mailer-smtp: the SMTP client engine of mailer-rs.
