//! Copies committed pages from the WAL into the database file on a thread of its own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on
//! the one writer: each ingest batch would wait while the pages it touched — all over
//! the indexes of a large store — are written back into the file and synced. Here the
//! writer only appends to the WAL, and this thread checkpoints after commits, PASSIVE,
//! so it never blocks the writer or a reader. Should it fall behind, SQLite's own
//! checkpoint, at a much higher threshold ([`WRITER_CHECKPOINT_PAGES`]), still bounds
//! the WAL.

use std::{
    path::Path,
    sync::mpsc::{SyncSender, TrySendError, sync_channel},
};

use crate::{Result, StoreError};

/// WAL pages after which the writer checkpoints by itself (256 MB of 4 KB pages).
pub const WRITER_CHECKPOINT_PAGES: u32 = 65_536;

pub struct BackgroundCheckpoints {
    wake: SyncSender<()>,
}

impl BackgroundCheckpoints {
    /// Starts the thread with a connection of its own; it ends when this is dropped.
    pub fn start(path: &Path) -> Result<Self> {
        let conn = super::connect(path)?;
        // One pending wake is enough: a checkpoint copies every frame committed before
        // it starts, however many commits asked for it.
        let (wake, woken) = sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoints".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    if let Err(error) =
                        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(%error, "cannot checkpoint the SQLite WAL");
                    }
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start a thread: {e}")))?;
        Ok(Self { wake })
    }

    /// Asks for a checkpoint of what was just committed.
    pub fn after_commit(&self) {
        match self.wake.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => {
                tracing::warn!("the SQLite checkpoint thread has ended")
            }
        }
    }
}
