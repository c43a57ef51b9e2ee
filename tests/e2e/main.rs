//! End-to-end scenarios through the real `kartoteka` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a panic is a failed test")]

mod billing;
mod client_module;
mod field_work;
mod interop;
mod js_peer;
mod json_output;
mod relay_hardening;
mod relay_protocol;
mod sync;
mod tls;
