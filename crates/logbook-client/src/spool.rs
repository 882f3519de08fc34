//! The on-disk spool: batches the server could not take yet, each a file named by its
//! place in line, idempotency key and event count, sent again oldest first. Bounded in
//! bytes. A file is written whole or not at all (a temporary file, synced, renamed, the
//! directory synced), so a crash never leaves half a batch; a file that cannot be read
//! or decompressed anyway (edited, truncated by hand, lost) is moved aside to
//! `quarantine/` and counted, and the spool goes on with the next.

use std::{
    collections::VecDeque,
    fs,
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, atomic::Ordering},
};

use bytes::Bytes;

use crate::{Counters, batch::Batch};

/// Places in line start mid-range, so batches can be put back ahead of the oldest.
const FIRST_PLACE: u64 = 1 << 40;

struct Entry {
    place: u64,
    /// The batch's number in this run; 0 for a batch an earlier run left.
    seq: u64,
    key: String,
    events: usize,
    path: PathBuf,
    size: u64,
}

pub struct Spool {
    dir: Option<PathBuf>,
    /// Held while the spool is open: one client per directory.
    _lock: Option<fs::File>,
    max_bytes: u64,
    bytes: u64,
    entries: VecDeque<Entry>,
    counters: Arc<Counters>,
}

/// Why a batch could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("no spool directory is set")]
    NoSpool,
    #[error("the spool is at its size bound ({0} bytes)")]
    Full(u64),
    #[error("cannot write the spool: {0}")]
    Io(#[from] std::io::Error),
}

impl Spool {
    /// Opens the spool, picking up what an earlier run left there. Without a directory
    /// nothing can be spooled.
    pub fn open(dir: Option<&Path>, max_bytes: u64, counters: Arc<Counters>) -> Self {
        let mut spool = Self {
            dir: None,
            _lock: None,
            max_bytes,
            bytes: 0,
            entries: VecDeque::new(),
            counters,
        };
        let Some(dir) = dir else { return spool };
        match lock(dir) {
            Ok(lock) => (spool.dir, spool._lock) = (Some(dir.to_owned()), Some(lock)),
            Err(error) => {
                tracing::error!(%error, dir = %dir.display(), "the spool directory cannot be used: this client runs without a spool");
                return spool;
            }
        }
        let mut found = Vec::new();
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                // A write a crash interrupted: it was never a batch in line.
                let _ = fs::remove_file(entry.path());
                continue;
            }
            let Some((place, key, events)) = parse_name(&name) else {
                continue;
            };
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            found.push(Entry {
                place,
                seq: 0,
                key,
                events,
                path: entry.path(),
                size,
            });
        }
        found.sort_by_key(|e| e.place);
        spool.bytes = found.iter().map(|e| e.size).sum();
        spool.entries = found.into();
        spool
    }

    pub fn has_dir(&self) -> bool {
        self.dir.is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keeps a batch behind the others.
    pub fn push_back(&mut self, batch: &Batch) -> Result<(), SpoolError> {
        let place = self.entries.back().map_or(FIRST_PLACE, |e| e.place + 1);
        let entry = self.write(place, batch)?;
        self.entries.push_back(entry);
        Ok(())
    }

    /// Puts a batch back at the head of the line (it is older than everything spooled).
    pub fn push_front(&mut self, batch: &Batch) -> Result<(), SpoolError> {
        let place = self.entries.front().map_or(FIRST_PLACE, |e| e.place - 1);
        let entry = self.write(place, batch)?;
        self.entries.push_front(entry);
        Ok(())
    }

    fn write(&mut self, place: u64, batch: &Batch) -> Result<Entry, SpoolError> {
        let dir = self.dir.as_ref().ok_or(SpoolError::NoSpool)?;
        let size = batch.body.len() as u64;
        if self.bytes + size > self.max_bytes {
            return Err(SpoolError::Full(self.max_bytes));
        }
        let path = dir.join(format!(
            "{place:020}-{}_{}.ndjson.gz",
            batch.key, batch.events
        ));
        let temporary = path.with_extension("tmp");
        let written = (|| {
            let mut file = private_file().open(&temporary)?;
            file.write_all(&batch.body)?;
            file.sync_all()?;
            fs::rename(&temporary, &path)?;
            fs::File::open(dir)?.sync_all()
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&temporary);
            let _ = fs::remove_file(&path);
            return Err(error.into());
        }
        self.bytes += size;
        Ok(Entry {
            place,
            seq: batch.seq,
            key: batch.key.clone(),
            events: batch.events,
            path,
            size,
        })
    }

    /// The oldest spooled batch that can be read, still on disk until
    /// [`Spool::remove_oldest`]. Heads that cannot be read are quarantined on the way.
    pub fn oldest(&mut self) -> Option<Batch> {
        loop {
            let entry = self.entries.front()?;
            match read_whole(&entry.path) {
                Ok(body) => {
                    return Some(Batch {
                        seq: entry.seq,
                        key: entry.key.clone(),
                        body,
                        events: entry.events,
                        made: std::time::Instant::now(),
                    });
                }
                Err(error) => self.quarantine_oldest(&error),
            }
        }
    }

    fn quarantine_oldest(&mut self, error: &str) {
        let Some(entry) = self.entries.pop_front() else {
            return;
        };
        self.bytes = self.bytes.saturating_sub(entry.size);
        self.counters
            .quarantined
            .fetch_add(entry.events as u64, Ordering::Relaxed);
        let aside = entry
            .path
            .parent()
            .map(|dir| dir.join("quarantine"))
            .filter(|dir| fs::create_dir_all(dir).is_ok());
        let moved = match (&aside, entry.path.file_name()) {
            (Some(dir), Some(name)) => fs::rename(&entry.path, dir.join(name)).is_ok(),
            _ => false,
        };
        tracing::warn!(
            path = %entry.path.display(),
            error,
            events = entry.events,
            moved_aside = moved,
            "a spooled batch cannot be read: it is set aside and the spool goes on"
        );
    }

    /// The number of the oldest batch spooled (0 for one an earlier run left).
    pub fn oldest_seq(&self) -> Option<u64> {
        self.entries.front().map(|entry| entry.seq)
    }

    /// Replaces the oldest batch by its two halves. The halves are written before the
    /// original is removed: a crash between leaves both, and as the halves' keys are made
    /// from the original's, a batch split twice is still stored once. A half that cannot
    /// be written is handed back.
    pub fn split_oldest(&mut self, (first, second): (Batch, Batch)) -> Vec<(Batch, SpoolError)> {
        let mut unwritten = Vec::new();
        let mut written = 0;
        for half in [second, first] {
            match self.push_front(&half) {
                Ok(()) => written += 1,
                Err(error) => unwritten.push((half, error)),
            }
        }
        if let Some(original) = self.entries.remove(written) {
            let _ = fs::remove_file(&original.path);
            self.bytes = self.bytes.saturating_sub(original.size);
        }
        unwritten
    }

    pub fn remove_oldest(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            let _ = fs::remove_file(&entry.path);
            self.bytes = self.bytes.saturating_sub(entry.size);
        }
    }
}

/// Creates the directory (private) and takes its lock file, or says why not.
fn lock(dir: &Path) -> std::io::Result<fs::File> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let lock = private_file().truncate(false).open(dir.join(".lock"))?;
    lock.try_lock().map_err(|error| match error {
        fs::TryLockError::WouldBlock => std::io::Error::other("another client is using it"),
        fs::TryLockError::Error(error) => error,
    })?;
    Ok(lock)
}

/// Spooled events are the application's: readable by its user alone.
fn private_file() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// `{place}-{key}_{events}.ndjson.gz`
fn parse_name(name: &str) -> Option<(u64, String, usize)> {
    let stem = name.strip_suffix(".ndjson.gz")?;
    let (place, rest) = stem.split_once('-')?;
    let (key, events) = rest.rsplit_once('_')?;
    Some((place.parse().ok()?, key.to_owned(), events.parse().ok()?))
}

/// A spooled file, whole: it must decompress to the end, or it is no batch to send.
fn read_whole(path: &Path) -> Result<Bytes, String> {
    let body = fs::read(path).map_err(|e| e.to_string())?;
    std::io::copy(
        &mut flate2::read::MultiGzDecoder::new(&body[..]),
        &mut std::io::sink(),
    )
    .map_err(|e| format!("not a whole gzip file: {e}"))?;
    Ok(Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("logbook-spool-{name}-{}", uuid::Uuid::new_v4()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn one_client_at_a_time_uses_a_spool_directory() {
        let dir = scratch("lock");
        let first = Spool::open(Some(&dir), 1 << 20, Arc::default());
        let second = Spool::open(Some(&dir), 1 << 20, Arc::default());
        assert!(first.has_dir() && !second.has_dir());
        drop(first);
        assert!(
            Spool::open(Some(&dir), 1 << 20, Arc::default()).has_dir(),
            "free once closed"
        );
    }

    #[cfg(unix)]
    #[test]
    fn spooled_events_are_readable_by_their_user_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("private").join("nested");
        let mut spool = Spool::open(Some(&dir), 1 << 20, Arc::default());
        spool
            .push_back(&Batch::of(1, &[Event::new("REQUEST")]))
            .unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            assert_eq!(mode(&entry.path()), 0o600, "{}", entry.path().display());
        }
    }

    #[test]
    fn a_split_batch_leaves_its_halves_in_its_place() {
        let dir = scratch("split");
        let mut spool = Spool::open(Some(&dir), 1 << 20, Arc::default());
        let events: Vec<Event> = (0..4)
            .map(|i| Event::new("REQUEST").message(format!("m{i}")))
            .collect();
        let (first, later) = (Batch::of(1, &events), Batch::of(2, &events[..1]));
        spool.push_back(&first).unwrap();
        spool.push_back(&later).unwrap();
        assert!(spool.split_oldest(first.halves().unwrap()).is_empty());
        let keys: Vec<String> = std::iter::from_fn(|| {
            let batch = spool.oldest()?;
            spool.remove_oldest();
            Some(batch.key)
        })
        .collect();
        assert_eq!(
            keys,
            [
                format!("{}.1", first.key),
                format!("{}.2", first.key),
                later.key
            ]
        );
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "only the lock is left"
        );
    }
}
