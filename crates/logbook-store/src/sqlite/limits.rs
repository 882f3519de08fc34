//! A time limit on every read: SQLite calls a progress handler every few thousand
//! instructions, and a read past its limit is interrupted, so a query whose request has
//! given up does not hold a reader (PostgreSQL's `statement_timeout` does the same there).

use std::time::{Duration, Instant};

use rusqlite::Connection;

/// Runs `read` on `conn`, interrupted once it has taken `limit`.
pub fn with_time_limit<T>(
    conn: &mut Connection,
    limit: Duration,
    read: impl FnOnce(&Connection) -> T,
) -> T {
    let deadline = Instant::now() + limit;
    if let Err(error) = conn.progress_handler(10_000, Some(move || Instant::now() > deadline)) {
        tracing::warn!(%error, "a read runs without its time limit");
    }
    let result = read(conn);
    let _ = conn.progress_handler(0, None::<fn() -> bool>);
    result
}
