//! mailer-rs: the Node.js addon. Only `binding` knows napi; behaviour lives in the crates.
#![deny(clippy::all)]

mod binding;
