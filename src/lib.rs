//! mailer-rs: the Node.js addon. Only `binding` knows napi; behaviour lives in the crates.
#![deny(clippy::all)]
// BindError carries nodemailer's full error context; it is built once per failure, never on the hot path.
#![allow(clippy::result_large_err)]

pub mod binding;
