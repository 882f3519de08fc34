//! Storage errors. The server turns them into 503 (unavailable), 409 (conflict) or 500;
//! the detail is logged, never sent to clients.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the connection.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A unique name or key already exists.
    #[error("{0}")]
    Conflict(String),
    /// The location or a stored value is not usable.
    #[error("{0}")]
    Invalid(String),
    /// Any other database error, with what was being done.
    #[error("{context}: {source}")]
    Database {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    pub fn database(
        context: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Database {
            context,
            source: Box::new(source),
        }
    }
}
