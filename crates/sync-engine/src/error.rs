//! The one error type of the sync engines.

/// Why an engine stopped. After any error the engine's in-memory state may be
/// ahead of what storage holds: the shell drops it with its connection, and the
/// next connection starts a new engine from storage.
#[derive(Debug, thiserror::Error)]
pub enum EngineError<S: std::error::Error + 'static> {
    /// The storage failed (what it had not committed is not stored).
    #[error(transparent)]
    Storage(S),
    /// The relay ended the session with a reason (its `error` message).
    #[error("the relay ended the session: {0}")]
    Refused(String),
}
