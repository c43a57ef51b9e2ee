//! The one error type of the relay core.

/// What can go wrong in the relay.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The relay's database failed.
    #[error("relay database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Document storage failed.
    #[error(transparent)]
    DocStore(#[from] doc_store::DocStoreError),
    /// The data directory could not be used.
    #[error("cannot use data directory {path}: {source}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The operating system's random generator failed.
    #[error("no randomness for a token secret: {0}")]
    Random(String),
    /// A token id that does not exist.
    #[error("there is no token {0}; `kartoteka-relay token list` shows them")]
    UnknownToken(String),
    /// The hub has stopped (the relay is shutting down).
    #[error("the relay is shutting down")]
    Stopped,
}

/// Result with [`RelayError`].
pub type Result<T, E = RelayError> = std::result::Result<T, E>;

impl RelayError {
    /// Whether the relay's storage is full (the disk, or the database's
    /// configured size): nothing can be stored until space is freed.
    pub fn is_storage_full(&self) -> bool {
        let (Self::Sqlite(sqlite) | Self::DocStore(doc_store::DocStoreError::Sqlite(sqlite))) =
            self
        else {
            return matches!(self, Self::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull);
        };
        sqlite.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
    }
}
