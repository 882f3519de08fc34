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
    #[error("{}: {}", .context, with_causes(.source.as_ref()))]
    Database {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// An error with its causes, `error: cause: cause`: tokio-postgres says "error
/// connecting to server" and keeps "Connection refused" or "password authentication
/// failed" in its source.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
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
