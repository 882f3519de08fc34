//! Logbook's files are private: made 0600 in a 0700 directory, and a warning at start
//! when an existing file or directory lets others read it.

use std::path::Path;

use crate::{Result, StoreError};

/// Makes the directory (0700) and the empty database file (0600) when missing.
pub fn create_private(path: &Path) -> Result<()> {
    let unavailable = |what: &Path, e: std::io::Error| {
        StoreError::Unavailable(format!("cannot create {}: {e}", what.display()))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| unavailable(dir, e))?;
    }
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(unavailable(path, e)),
        }
    }
    Ok(())
}

/// The SQLite file, its WAL and shared-memory files, and its directory.
pub fn database_files(path: &Path) -> Vec<std::path::PathBuf> {
    let mut paths = vec![path.to_owned()];
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        paths.push(name.into());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        paths.push(dir.to_owned());
    }
    paths
}

/// Logs a warning for each of `paths` that exists and is readable or writable by others
/// than its owner.
pub fn warn_if_loose(paths: &[std::path::PathBuf]) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for path in paths {
            if let Ok(meta) = std::fs::metadata(path) {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format!("{mode:o}"),
                        "others may read this Logbook file: chmod {} it",
                        if meta.is_dir() { "700" } else { "600" }
                    );
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = paths;
}
