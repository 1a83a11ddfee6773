//! What can go wrong in storage, and how clients are told.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("PostgreSQL: {}", with_causes(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL is unreachable: {0}")]
    PostgresUnreachable(String),
    #[error("the database URL: {0}")]
    DatabaseUrl(String),
    #[error(
        "the data was written by a newer Skein (format {found}); this binary reads format {reads} at most"
    )]
    NewerFormat { found: u32, reads: u32 },
    #[error(
        "the data dir {0} is in use by another process (a running `skein serve`?) and its admin socket did not answer"
    )]
    Locked(String),
    #[error("the data store is being reopened after a write failure")]
    Reopening,
    #[error("a stored record could not be read: {0}")]
    Corrupt(String),
    #[error("{0}")]
    File(String),
    #[error("{0}")]
    Unsupported(&'static str),
}

/// An error and what caused it ("error performing TLS handshake: invalid peer certificate:
/// UnknownIssuer"): the operator needs the cause to act.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        text = format!("{text}: {err}");
        cause = err.source();
    }
    text
}

impl Error {
    /// Whether the disk (or the user's quota on it) is full.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Sled(sled::Error::Io(io)) => matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ),
            Error::Postgres(err) => err.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL),
            _ => false,
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        match err {
            deadpool_postgres::PoolError::Backend(err) => Error::Postgres(err),
            other => Error::PostgresUnreachable(other.to_string()),
        }
    }
}

/// Storage failures as clients see them (details go to the log).
impl From<Error> for crate::error::Error {
    fn from(err: Error) -> Self {
        use crate::error::{Code, Error as ClientError};
        match err {
            // Said as it is: the operator can act on these.
            Error::NewerFormat { .. } | Error::Unsupported(_) | Error::DatabaseUrl(_) => {
                ClientError::new(Code::Unsupported, err.to_string())
            }
            Error::Locked(_) => ClientError::new(Code::ServerUnreachable, err.to_string()),
            _ if err.is_disk_full() => {
                tracing::error!(error = %err, "storage failure: the disk is full");
                ClientError::new(
                    Code::DiskFull,
                    "the server is out of disk space; nothing was written (writes resume once space is freed)",
                )
            }
            Error::Reopening => ClientError::new(
                Code::StorageUnavailable,
                "the server is reopening its data store after a write failure; try again shortly",
            ),
            Error::PostgresUnreachable(_) => {
                tracing::error!(error = %err, "storage unavailable");
                ClientError::new(
                    Code::StorageUnavailable,
                    "the server cannot reach its database; try again shortly",
                )
            }
            Error::Sled(_) | Error::Postgres(_) | Error::Corrupt(_) | Error::File(_) => {
                tracing::error!(error = %err, "storage failure");
                ClientError::new(
                    Code::StorageFailure,
                    "the server could not read or write its data; see the server log",
                )
            }
        }
    }
}
