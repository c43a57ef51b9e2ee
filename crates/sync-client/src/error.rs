//! The one error type of the sync client.

/// What can go wrong syncing.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The replica failed.
    #[error(transparent)]
    Store(#[from] replica_store::StoreError),
    /// An HTTP request to the relay failed (network, TLS, timeout).
    #[error("cannot reach the relay: {0}")]
    Http(#[from] reqwest::Error),
    /// The websocket failed.
    #[error("relay connection failed: {0}")]
    WebSocket(Box<tokio_tungstenite::tungstenite::Error>),
    /// The relay refused the token.
    #[error("the relay refused this device's token ({0})")]
    Unauthorized(u16),
    /// The relay answered with an error status.
    #[error("the relay answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// The relay sent something outside the protocol, or closed with a reason.
    #[error("the relay ended the session: {0}")]
    Relay(String),
    /// The relay stopped answering.
    #[error("the relay stopped answering for {0} s")]
    Timeout(u64),
    /// The token opens another workspace than the replica's.
    #[error(
        "this token opens workspace {token}, but this replica holds workspace {replica}; issue a token for {replica}"
    )]
    WrongWorkspace {
        /// The token's workspace.
        token: String,
        /// The replica's workspace.
        replica: String,
    },
    /// No relay is configured.
    #[error("no relay configured")]
    NoRemote,
    /// The relay address is not a URL.
    #[error("'{0}' is not a relay address (expected http://host:port or https://host)")]
    BadUrl(String),
    /// Plain http to a host other than this machine: the token would cross the
    /// network readable by anyone on the way.
    #[error(
        "{0} is plain http to another machine: this device's token would travel unencrypted; use https://"
    )]
    Insecure(String),
    /// A certificate authority given for the relay cannot be used.
    #[error("the relay's certificate authority cannot be used: {0}")]
    BadCertificate(String),
    /// A blob failed.
    #[error(transparent)]
    Blob(#[from] blob_store::BlobError),
}

impl From<tokio_tungstenite::tungstenite::Error> for SyncError {
    fn from(error: tokio_tungstenite::tungstenite::Error) -> Self {
        if let tokio_tungstenite::tungstenite::Error::Http(response) = &error {
            let status = response.status().as_u16();
            if status == 401 || status == 403 {
                return Self::Unauthorized(status);
            }
        }
        Self::WebSocket(Box::new(error))
    }
}

impl From<automerge::AutomergeError> for SyncError {
    fn from(error: automerge::AutomergeError) -> Self {
        Self::Store(error.into())
    }
}

/// Result with [`SyncError`].
pub type Result<T, E = SyncError> = std::result::Result<T, E>;
