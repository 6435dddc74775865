//! mailer-oauth2
