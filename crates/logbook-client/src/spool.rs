//! The on-disk spool: batches the server could not take, each a file named by its order
//! and idempotency key, sent again oldest first. Bounded in bytes.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

pub struct Spool {
    dir: Option<PathBuf>,
    max_bytes: u64,
    bytes: u64,
    next: u64,
    /// (order, key, path, size), oldest first.
    files: std::collections::VecDeque<(u64, String, PathBuf, u64)>,
}

pub struct Spooled {
    pub key: String,
    pub body: Vec<u8>,
    pub events: usize,
}

impl Spool {
    /// Opens the spool, picking up what an earlier run left there. Without a directory
    /// nothing can be spooled.
    pub fn open(dir: Option<&Path>, max_bytes: u64) -> Self {
        let mut spool = Self {
            dir: dir.map(Path::to_owned),
            max_bytes,
            bytes: 0,
            next: 0,
            files: Default::default(),
        };
        let Some(dir) = dir else { return spool };
        if let Err(error) = fs::create_dir_all(dir) {
            tracing::warn!(%error, dir = %dir.display(), "cannot create the spool directory");
        }
        let mut found = Vec::new();
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".ndjson.gz") else {
                continue;
            };
            let Some((order, key)) = stem.split_once('-') else {
                continue;
            };
            let Ok(order) = order.parse::<u64>() else {
                continue;
            };
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            found.push((order, key.to_owned(), entry.path(), size));
        }
        found.sort_by_key(|f| f.0);
        spool.bytes = found.iter().map(|f| f.3).sum();
        spool.next = found.last().map_or(0, |f| f.0 + 1);
        spool.files = found.into();
        spool
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Keeps a batch for later; false when the spool has no room (or no directory).
    pub fn push(&mut self, key: &str, body: &[u8], events: usize) -> bool {
        let Some(dir) = &self.dir else { return false };
        let size = body.len() as u64;
        if self.bytes + size > self.max_bytes {
            return false;
        }
        // The event count rides in the name so counters survive a restart.
        let path = dir.join(format!("{:020}-{key}_{events}.ndjson.gz", self.next));
        let written = fs::File::create(&path).and_then(|mut f| {
            f.write_all(body)?;
            f.sync_data()
        });
        if let Err(error) = written {
            tracing::warn!(%error, path = %path.display(), "cannot spool a batch");
            let _ = fs::remove_file(&path);
            return false;
        }
        self.files
            .push_back((self.next, format!("{key}_{events}"), path, size));
        self.next += 1;
        self.bytes += size;
        true
    }

    /// The oldest spooled batch, still on disk until [`Spool::remove_oldest`].
    pub fn oldest(&self) -> Option<Spooled> {
        let (_, name, path, _) = self.files.front()?;
        let (key, events) = name.rsplit_once('_').unwrap_or((name, "0"));
        match fs::read(path) {
            Ok(body) => Some(Spooled {
                key: key.to_owned(),
                body,
                events: events.parse().unwrap_or(0),
            }),
            Err(error) => {
                tracing::warn!(%error, path = %path.display(), "cannot read a spooled batch");
                None
            }
        }
    }

    pub fn remove_oldest(&mut self) {
        if let Some((_, _, path, size)) = self.files.pop_front() {
            let _ = fs::remove_file(path);
            self.bytes = self.bytes.saturating_sub(size);
        }
    }
}
