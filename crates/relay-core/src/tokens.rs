//! Device tokens.
//!
//! A token is `kt1_<id>_<secret>`: a 32-hex-digit id to look the record up and a
//! 256-bit secret (64 hex digits). The relay stores only the blake3 hash of the secret and
//! compares hashes in constant time, so neither a database leak nor timing
//! reveals a usable token. Each token belongs to one workspace and one device;
//! the device name is the only peer id the token may use.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{RelayError, Result};

const PREFIX: &str = "kt1";

/// A token as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// The token's id.
    pub id: String,
    /// The workspace it opens.
    pub workspace: Uuid,
    /// The device (and peer id) it belongs to.
    pub device: String,
    /// Whether its changes are refused.
    pub read_only: bool,
    /// When it was issued (RFC 3339).
    pub issued_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// What a valid token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The token's id (for revocation checks and logs; never the secret).
    pub token_id: String,
    /// The only workspace this connection may touch.
    pub workspace: Uuid,
    /// The only peer id this connection may claim.
    pub peer_id: String,
    /// Whether changes are refused.
    pub read_only: bool,
}

/// Why a presented token was refused. Callers answer every variant with the same
/// 401, so that nothing tells a guesser which part was wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No token was presented.
    #[error("no token")]
    Missing,
    /// The token is not of the `kt1_<id>_<secret>` shape.
    #[error("malformed token")]
    Malformed,
    /// No such token, or the secret does not match.
    #[error("unknown token")]
    Unknown,
    /// The token was revoked.
    #[error("revoked token")]
    Revoked,
}

/// The tokens table (part of the relay's schema).
pub(crate) const DDL: &str = r"
CREATE TABLE IF NOT EXISTS tokens (
    id          TEXT PRIMARY KEY,
    workspace   BLOB NOT NULL,
    device      TEXT NOT NULL,
    read_only   INTEGER NOT NULL,
    secret_hash BLOB NOT NULL,
    issued_at   TEXT NOT NULL,
    revoked_at  TEXT
) WITHOUT ROWID;
";

/// Issues a token; returns its record and the token string, shown once.
pub fn issue(
    conn: &Connection,
    workspace: Uuid,
    device: &str,
    read_only: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(TokenRecord, String)> {
    let device = device.trim();
    let mut id_bytes = [0_u8; 16];
    let mut secret = [0_u8; 32];
    getrandom::fill(&mut id_bytes).map_err(|error| RelayError::Random(error.to_string()))?;
    getrandom::fill(&mut secret).map_err(|error| RelayError::Random(error.to_string()))?;
    let id = Uuid::from_bytes(id_bytes).simple().to_string();
    let record = TokenRecord {
        id: id.clone(),
        workspace,
        device: device.to_owned(),
        read_only,
        issued_at: now.to_rfc3339(),
        revoked_at: None,
    };
    conn.execute(
        "INSERT INTO tokens (id, workspace, device, read_only, secret_hash, issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, workspace.as_bytes().as_slice(), device, read_only, blake3::hash(&secret).as_bytes().as_slice(), record.issued_at],
    )?;
    // blake3's hex codec happens to be exactly "32 bytes as 64 hex digits".
    let secret_hex = blake3::Hash::from_bytes(secret).to_hex();
    Ok((record, format!("{PREFIX}_{id}_{secret_hex}")))
}

/// Lists tokens, of one workspace or all.
pub fn list(conn: &Connection, workspace: Option<Uuid>) -> Result<Vec<TokenRecord>> {
    let mut statement = conn.prepare(
        "SELECT id, workspace, device, read_only, issued_at, revoked_at FROM tokens
         WHERE ?1 IS NULL OR workspace = ?1 ORDER BY issued_at, id",
    )?;
    let rows = statement.query_map([workspace.map(|w| w.as_bytes().to_vec())], |row| {
        let workspace: Vec<u8> = row.get(1)?;
        Ok(TokenRecord {
            id: row.get(0)?,
            workspace: Uuid::from_slice(&workspace).unwrap_or_default(),
            device: row.get(2)?,
            read_only: row.get(3)?,
            issued_at: row.get(4)?,
            revoked_at: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Revokes a token; live connections using it are closed by the next sweep.
pub fn revoke(conn: &Connection, id: &str, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    let changed = conn.execute(
        "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
        params![id, now.to_rfc3339()],
    )?;
    if changed == 0 {
        return Err(RelayError::UnknownToken(id.to_owned()));
    }
    Ok(())
}

/// Checks a presented token.
pub fn authenticate(conn: &Connection, presented: Option<&str>) -> Result<Grant, AuthErrorOr> {
    let presented =
        presented.map(str::trim).filter(|token| !token.is_empty()).ok_or(AuthError::Missing)?;
    let mut parts = presented.splitn(3, '_');
    let (Some(PREFIX), Some(id), Some(secret_hex)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed.into());
    };
    let secret = *blake3::Hash::from_hex(secret_hex).map_err(|_| AuthError::Malformed)?.as_bytes();
    let row = conn
        .prepare_cached("SELECT workspace, device, read_only, secret_hash, revoked_at FROM tokens WHERE id = ?1")
        .map_err(RelayError::from)?
        .query_row([id], |row| {
            Ok((
                row.get::<_, Vec<u8>>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, bool>(2)?,
                row.get::<_, Vec<u8>>(3)?,
                row.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()
        .map_err(RelayError::from)?;
    let Some((workspace, device, read_only, stored_hash, revoked_at)) = row else {
        return Err(AuthError::Unknown.into());
    };
    let stored_hash =
        <[u8; 32]>::try_from(stored_hash.as_slice()).map_err(|_| AuthError::Unknown)?;
    // blake3::Hash's equality is constant-time.
    if blake3::hash(&secret) != blake3::Hash::from_bytes(stored_hash) {
        return Err(AuthError::Unknown.into());
    }
    if revoked_at.is_some() {
        return Err(AuthError::Revoked.into());
    }
    let workspace = Uuid::from_slice(&workspace).map_err(|_| AuthError::Unknown)?;
    Ok(Grant { token_id: id.to_owned(), workspace, peer_id: device, read_only })
}

/// Whether a token is still valid (not revoked); for sweeping live connections.
pub fn is_active(conn: &Connection, token_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT revoked_at IS NULL FROM tokens WHERE id = ?1")?
        .query_row([token_id], |row| row.get(0))
        .optional()?
        .unwrap_or(false))
}

/// An authentication failure, or the relay failing to check.
#[derive(Debug, thiserror::Error)]
pub enum AuthErrorOr {
    /// The token was refused.
    #[error(transparent)]
    Refused(#[from] AuthError),
    /// The relay could not check it.
    #[error(transparent)]
    Relay(#[from] RelayError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(DDL).unwrap();
        conn
    }

    #[test]
    fn an_issued_token_authenticates_as_its_device_and_workspace() {
        let conn = conn();
        let workspace = Uuid::new_v4();
        let (record, token) =
            issue(&conn, workspace, "laptop-anna", false, chrono::Utc::now()).unwrap();
        let grant = authenticate(&conn, Some(&token)).unwrap();
        assert_eq!(
            grant,
            Grant {
                token_id: record.id.clone(),
                workspace,
                peer_id: "laptop-anna".to_owned(),
                read_only: false
            }
        );
        let listed = list(&conn, Some(workspace)).unwrap();
        assert_eq!(listed, vec![record]);
        assert!(
            !format!("{listed:?}").contains(token.rsplit('_').next().unwrap()),
            "the secret is never listed"
        );
    }

    #[test]
    fn forged_malformed_missing_and_revoked_tokens_are_refused() {
        let conn = conn();
        let (record, token) = issue(&conn, Uuid::new_v4(), "d", true, chrono::Utc::now()).unwrap();
        let forged = format!(
            "{}{}",
            &token[..token.len() - 1],
            if token.ends_with('0') { '1' } else { '0' }
        );
        let refused = |presented: Option<&str>| match authenticate(&conn, presented) {
            Err(AuthErrorOr::Refused(error)) => error,
            other => panic!("{other:?}"),
        };
        assert_eq!(refused(Some(&forged)), AuthError::Unknown);
        assert_eq!(refused(None), AuthError::Missing);
        assert_eq!(refused(Some("Bearer nonsense")), AuthError::Malformed);
        assert_eq!(refused(Some("kt1_00000000000000000000000000000000_00")), AuthError::Malformed);
        revoke(&conn, &record.id, chrono::Utc::now()).unwrap();
        assert_eq!(refused(Some(&token)), AuthError::Revoked);
        assert!(!is_active(&conn, &record.id).unwrap());
        assert!(matches!(
            revoke(&conn, "nope", chrono::Utc::now()),
            Err(RelayError::UnknownToken(_))
        ));
    }
}
