//! The blob endpoints (`/v1/blobs/<blake3 hex>`), resumable like tus 1.0.
//!
//! - `HEAD`: 200 with `Content-Length` if the relay has the blob; otherwise 404,
//!   with [`UPLOAD_OFFSET`] when part of an upload is staged.
//! - `PATCH` with [`UPLOAD_OFFSET`] and [`UPLOAD_LENGTH`]: appends the body to the
//!   staged upload at that offset. When the staged bytes reach the length, the
//!   relay recomputes the blake3 hash and publishes the blob only if it matches.
//! - `GET`: the bytes. The replica verifies the hash before exposing them.

/// Header: where the upload continues (bytes already staged).
pub const UPLOAD_OFFSET: &str = "upload-offset";
/// Header: the blob's total size in bytes.
pub const UPLOAD_LENGTH: &str = "upload-length";
