//! Where the data lives, parsed from `LOGBOOK_DATABASE_URL` or the data dir.

use std::path::{Path, PathBuf};

use crate::StoreError;

/// Whether opening may create the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Make the file (and its private directory) when missing: `serve`, `migrate`.
    Create,
    /// A missing store is an error: commands that only read or add to one.
    Existing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl StoreLocation {
    /// `sqlite:PATH`, `sqlite://PATH`, `postgres://…` or `postgresql://…`; with no URL,
    /// the SQLite file `logbook.db` under `data_dir`.
    pub fn resolve(url: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Self::Sqlite(data_dir.join("logbook.db")));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::Invalid(
                    "sqlite: URL needs a file path, e.g. sqlite:./logbook.db".into(),
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err(StoreError::Invalid(format!(
            "unsupported database URL {:?}: use sqlite:PATH or postgres://USER@HOST/DB",
            redact_password(url)
        )))
    }

    /// The location for logs, with any password hidden.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite:{}", path.display()),
            Self::Postgres(url) => redact_password(url),
        }
    }
}

/// A PostgreSQL URL with its database name replaced (for tools that create databases).
pub fn with_database(base: &str, name: &str) -> String {
    let (url, query) = match base.split_once('?') {
        Some((url, query)) => (url, Some(query)),
        None => (base, None),
    };
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let root = match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_urls() {
        let dir = Path::new("/data");
        assert_eq!(
            StoreLocation::resolve(None, dir).unwrap(),
            StoreLocation::Sqlite("/data/logbook.db".into())
        );
        assert_eq!(
            StoreLocation::resolve(Some("sqlite:/tmp/x.db"), dir).unwrap(),
            StoreLocation::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            StoreLocation::resolve(Some("postgresql://u@h/d"), dir).unwrap(),
            StoreLocation::Postgres(_)
        ));
        let err = StoreLocation::resolve(Some("mysql://u:pw@h/d"), dir)
            .unwrap_err()
            .to_string();
        assert!(err.contains("u:***@h") && !err.contains("pw"), "{err}");
    }
}
