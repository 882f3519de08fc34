//! Archives of events past their retention, written before they are removed: one
//! zstd-compressed NDJSON file per tenant, day and event type, each beside a manifest
//! (rows, first and last time, the file's SHA-256), under
//! `DIR/<tenant>/events/<YYYY-MM-DD>/<EVENT_TYPE>.ndjson.zst`; and of the audit trail
//! before a cut, one file per tenant and day received, in the form of an audit export,
//! under `DIR/<tenant>/audit/<YYYY-MM-DD>/audit.ndjson.zst`.
//!
//! NDJSON rather than Parquet: every line is the event exactly as the API and the
//! exports show it, readable with `zstdcat | jq`, restored by the same parser, with no
//! columnar library in the build; zstd brings it near Parquet's size for this data.
//!
//! A file is written under a temporary name, synced, then renamed, and its manifest
//! after it: a manifest names only a whole file. Files are 0600 in 0700 directories.

use std::{
    fs::{self, File},
    io::{self, BufRead, BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use chrono::{DateTime, NaiveDate, Utc};
use logbook_model::{
    Event, EventType, TenantId,
    access::AccessRecord,
    audit::{AuditEvent, checkpoint::Checkpoint},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

/// The format named in every manifest.
pub const FORMAT: &str = "logbook-archive-1";
const DATA_SUFFIX: &str = ".ndjson.zst";
const MANIFEST_SUFFIX: &str = ".manifest.json";

/// What one archive file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub stream: String,
    pub tenant_id: TenantId,
    pub day: NaiveDate,
    /// The events' type; empty in an archive of the audit trail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_type: String,
    /// The audit trail's seqs the file holds, first and last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_seq: Option<i64>,
    pub rows: u64,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// SHA-256 of the compressed file, hex.
    pub sha256: String,
    /// The data file's name, beside the manifest.
    pub file: String,
}

/// The archive directory.
#[derive(Clone, Debug)]
pub struct ArchiveDir {
    root: PathBuf,
}

impl ArchiveDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Starts a file of one tenant's events of one type on one day. A group archived
    /// again (events back-filled or restored after the first removal) gets a file of
    /// its own beside the first: `TYPE.ndjson.zst`, `TYPE.2.ndjson.zst`, …; none is ever
    /// replaced.
    pub fn writer(
        &self,
        tenant: TenantId,
        day: NaiveDate,
        event_type: &EventType,
    ) -> Result<ArchiveWriter> {
        self.start(tenant, "events", day, event_type.as_str())
    }

    /// Starts a file of one tenant's audit trail received on one day, in the form of an
    /// audit export (`header` first, then events, then the checkpoints that cover them),
    /// so `logbook verify` checks it as it checks an export:
    /// `DIR/<tenant>/audit/<YYYY-MM-DD>/audit.ndjson.zst`.
    pub fn audit_writer(
        &self,
        tenant: TenantId,
        day: NaiveDate,
        header: &serde_json::Value,
    ) -> Result<ArchiveWriter> {
        let mut writer = self.start(tenant, "audit", day, "")?;
        writer.push(header.to_string().as_bytes(), None)?;
        Ok(writer)
    }

    /// Starts a file of one tenant's access records of one day:
    /// `DIR/<tenant>/access/<YYYY-MM-DD>/access.ndjson.zst`.
    pub fn access_writer(&self, tenant: TenantId, day: NaiveDate) -> Result<ArchiveWriter> {
        self.start(tenant, "access", day, "")
    }

    fn start(
        &self,
        tenant: TenantId,
        stream: &str,
        day: NaiveDate,
        event_type: &str,
    ) -> Result<ArchiveWriter> {
        let dir = self
            .root
            .join(tenant.to_string())
            .join(stream)
            .join(day.format("%Y-%m-%d").to_string());
        private_dir(&dir)?;
        let name = if event_type.is_empty() {
            stream.to_owned()
        } else {
            event_type.to_owned()
        };
        // Unique: two writers of one group (a server and `logbook maintain`) never share.
        let temporary = dir.join(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()));
        let file = private_file(&temporary)?;
        let encoder = zstd::Encoder::new(
            Hashing {
                inner: BufWriter::new(file),
                hash: Sha256::new(),
            },
            ZSTD_LEVEL,
        )
        .map_err(|e| io_error(&temporary, e))?;
        Ok(ArchiveWriter {
            encoder,
            temporary,
            dir,
            name,
            manifest: Manifest {
                format: FORMAT.into(),
                stream: stream.into(),
                tenant_id: tenant,
                day,
                event_type: event_type.into(),
                from_seq: None,
                to_seq: None,
                rows: 0,
                first: None,
                last: None,
                sha256: String::new(),
                file: String::new(),
            },
        })
    }

    /// Removes an archive file and its manifest: the rows it holds were not removed
    /// after all.
    pub fn discard(&self, manifest: &Manifest) -> Result<()> {
        let dir = self
            .root
            .join(manifest.tenant_id.to_string())
            .join(&manifest.stream)
            .join(manifest.day.format("%Y-%m-%d").to_string());
        let stem = manifest
            .file
            .strip_suffix(DATA_SUFFIX)
            .unwrap_or(&manifest.file);
        for path in [
            dir.join(format!("{stem}{MANIFEST_SUFFIX}")),
            dir.join(&manifest.file),
        ] {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_error(&path, e)),
                _ => {}
            }
        }
        Ok(())
    }

    /// Every manifest under the directory, by tenant, day and type.
    pub fn list(&self) -> Result<Vec<(PathBuf, Manifest)>> {
        let mut found = Vec::new();
        if self.root.exists() {
            collect_manifests(&self.root, 0, &mut found)?;
        }
        found.sort_by(|a, b| {
            (a.1.tenant_id.0, a.1.day, &a.1.event_type).cmp(&(
                b.1.tenant_id.0,
                b.1.day,
                &b.1.event_type,
            ))
        });
        Ok(found)
    }
}

/// Level 9: a tenth of the JSON's size for log events, at tens of MB/s on one core.
const ZSTD_LEVEL: i32 = 9;

/// Writes one archive file.
pub struct ArchiveWriter {
    encoder: zstd::Encoder<'static, Hashing<BufWriter<File>>>,
    temporary: PathBuf,
    dir: PathBuf,
    name: String,
    manifest: Manifest,
}

impl ArchiveWriter {
    pub fn write(&mut self, event: &Event) -> Result<()> {
        let line = serde_json::to_vec(event)
            .map_err(|e| StoreError::Invalid(format!("an event cannot be archived: {e}")))?;
        if line.len() > MAX_LINE {
            return Err(StoreError::Invalid(format!(
                "event {} is {} bytes as JSON, more than an archive line holds ({MAX_LINE})",
                event.id,
                line.len()
            )));
        }
        self.push(&line, Some(event.created_at))
    }

    /// Writes one audit event, as the audit export writes it.
    pub fn write_audit(&mut self, event: &AuditEvent) -> Result<()> {
        let mut line = serde_json::json!(event);
        line["type"] = serde_json::json!("event");
        self.push(line.to_string().as_bytes(), Some(event.received_at))?;
        let m = &mut self.manifest;
        m.from_seq.get_or_insert(event.seq);
        m.to_seq = Some(event.seq);
        Ok(())
    }

    /// Writes one access record, as `GET /api/v1/access` shows it.
    pub fn write_access(&mut self, record: &AccessRecord) -> Result<()> {
        let line = serde_json::to_vec(record).map_err(|e| {
            StoreError::Invalid(format!("an access record cannot be archived: {e}"))
        })?;
        self.push(&line, Some(record.at))
    }

    /// Writes a checkpoint that covers events of the file.
    pub fn write_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<()> {
        let mut line = serde_json::json!(checkpoint);
        line["type"] = serde_json::json!("checkpoint");
        self.push(line.to_string().as_bytes(), None)
    }

    /// The seqs of the first and last audit events written.
    pub fn first_seq(&self) -> Option<i64> {
        self.manifest.from_seq
    }

    pub fn last_seq(&self) -> Option<i64> {
        self.manifest.to_seq
    }

    /// Writes a line; one with a `time` is a row, counted in the manifest.
    fn push(&mut self, line: &[u8], time: Option<DateTime<Utc>>) -> Result<()> {
        self.encoder
            .write_all(line)
            .and_then(|()| self.encoder.write_all(b"\n"))
            .map_err(|e| io_error(&self.temporary, e))?;
        if let Some(time) = time {
            let m = &mut self.manifest;
            m.rows += 1;
            m.first = Some(m.first.map_or(time, |t| t.min(time)));
            m.last = Some(m.last.map_or(time, |t| t.max(time)));
        }
        Ok(())
    }

    /// Drops the file begun, which never becomes an archive.
    pub fn abandon(self) {
        drop(self.encoder);
        let _ = fs::remove_file(&self.temporary);
    }

    /// Completes the file, syncs it to disk, moves it into place and writes its
    /// manifest; returns the manifest.
    pub fn finish(self) -> Result<Manifest> {
        let Self {
            encoder,
            temporary,
            dir,
            name,
            mut manifest,
        } = self;
        let fail = |e| io_error(&temporary, e);
        let hashing = encoder.finish().map_err(fail)?;
        let file = hashing
            .inner
            .into_inner()
            .map_err(|e| fail(e.into_error()))?;
        file.sync_all().map_err(fail)?;
        manifest.sha256 = logbook_model::hex::encode(&hashing.hash.finalize());
        // A hard link fails rather than replace a file already there: the first free
        // name is taken, so an earlier archive of the group is never lost.
        let mut stem = name.clone();
        for n in 2.. {
            let data = dir.join(format!("{stem}{DATA_SUFFIX}"));
            match fs::hard_link(&temporary, &data) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => stem = format!("{name}.{n}"),
                Err(e) => return Err(io_error(&data, e)),
            }
        }
        fs::remove_file(&temporary).map_err(|e| io_error(&temporary, e))?;
        manifest.file = format!("{stem}{DATA_SUFFIX}");
        let text = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| StoreError::Invalid(format!("a manifest cannot be written: {e}")))?;
        let manifest_path = dir.join(format!("{stem}{MANIFEST_SUFFIX}"));
        let partial = dir.join(format!(
            ".{stem}{MANIFEST_SUFFIX}.{}.partial",
            uuid::Uuid::new_v4().simple()
        ));
        let mut out = private_file(&partial)?;
        out.write_all(&text)
            .and_then(|()| out.sync_all())
            .map_err(|e| io_error(&partial, e))?;
        fs::rename(&partial, &manifest_path).map_err(|e| io_error(&manifest_path, e))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(&dir, e))?;
        Ok(manifest)
    }
}

/// Reads an archive back: `path` names its manifest or its data file. The file's
/// SHA-256 is checked against the manifest before any event is read, and the count of
/// events after.
pub fn open(path: &Path) -> Result<(Manifest, ArchiveReader)> {
    let manifest_path = manifest_path_of(path);
    let text = fs::read(&manifest_path).map_err(|e| io_error(&manifest_path, e))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        StoreError::Invalid(format!(
            "{} is not an archive manifest: {e}",
            manifest_path.display()
        ))
    })?;
    if manifest.stream != "events" {
        return Err(StoreError::Invalid(format!(
            "{} archives the audit trail, which is not put back: the chain starts after the \
             cut it was removed at. Check the file with `logbook verify`",
            manifest_path.display()
        )));
    }
    if manifest.format != FORMAT {
        return Err(StoreError::Invalid(format!(
            "{} is in format {:?}; this Logbook reads {FORMAT}",
            manifest_path.display(),
            manifest.format
        )));
    }
    if manifest.file.contains(['/', '\\']) || manifest.file.starts_with('.') {
        return Err(StoreError::Invalid(format!(
            "{} names a data file outside its directory: {:?}",
            manifest_path.display(),
            manifest.file
        )));
    }
    let data = manifest_path.with_file_name(&manifest.file);
    let mut hashing = Hashing {
        inner: io::sink(),
        hash: Sha256::new(),
    };
    let mut file = File::open(&data).map_err(|e| io_error(&data, e))?;
    io::copy(&mut file, &mut hashing).map_err(|e| io_error(&data, e))?;
    if logbook_model::hex::encode(&hashing.hash.finalize()) != manifest.sha256 {
        return Err(StoreError::Invalid(format!(
            "{} does not match the SHA-256 in its manifest: it was changed or damaged",
            data.display()
        )));
    }
    let file = File::open(&data).map_err(|e| io_error(&data, e))?;
    let decoder = zstd::Decoder::new(file).map_err(|e| io_error(&data, e))?;
    let reader = ArchiveReader {
        lines: BufReader::new(decoder),
        tenant: manifest.tenant_id,
        day: manifest.day,
        expected: manifest.rows,
        read: 0,
        path: data,
    };
    Ok((manifest, reader))
}

/// The longest line written or read back. An event is at most 256 KiB as sent, but
/// written as JSON a control character becomes a six-byte escape, and sealed fields are
/// a third larger: 8 MiB holds any event Logbook stores.
pub const MAX_LINE: usize = 8 * 1024 * 1024;

/// The events of an archive, one at a time.
pub struct ArchiveReader {
    lines: BufReader<zstd::Decoder<'static, BufReader<File>>>,
    tenant: TenantId,
    day: NaiveDate,
    expected: u64,
    read: u64,
    path: PathBuf,
}

impl Iterator for ArchiveReader {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        let mut line = String::new();
        let read = (&mut self.lines)
            .take(MAX_LINE as u64 + 2)
            .read_line(&mut line);
        // The line and its newline.
        if line.strip_suffix('\n').unwrap_or(&line).len() > MAX_LINE {
            return Some(Err(StoreError::Invalid(format!(
                "{} line {} is longer than any stored event ({MAX_LINE} bytes)",
                self.path.display(),
                self.read + 1
            ))));
        }
        match read {
            Err(e) => Some(Err(io_error(&self.path, e))),
            Ok(0) if self.read == self.expected => None,
            Ok(0) => Some(Err(StoreError::Invalid(format!(
                "{} holds {} events; its manifest says {}",
                self.path.display(),
                self.read,
                self.expected
            )))),
            Ok(_) => {
                self.read += 1;
                let event = parse_line(&line, self.tenant).map_err(|e| {
                    StoreError::Invalid(format!("{} line {}: {e}", self.path.display(), self.read))
                });
                Some(event.and_then(|e| {
                    if e.created_at.date_naive() == self.day {
                        Ok(e)
                    } else {
                        Err(StoreError::Invalid(format!(
                            "{} line {}: an event of {}, in the archive of {}",
                            self.path.display(),
                            self.read,
                            e.created_at,
                            self.day
                        )))
                    }
                }))
            }
        }
    }
}

/// An archived line is the event as stored, in the API's form, which leaves out the
/// tenant.
fn parse_line(line: &str, tenant: TenantId) -> std::result::Result<Event, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(line)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("tenant_id".into(), serde_json::json!(tenant));
    }
    serde_json::from_value(value)
}

fn manifest_path_of(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.strip_suffix(DATA_SUFFIX) {
        Some(stem) => path.with_file_name(format!("{stem}{MANIFEST_SUFFIX}")),
        None => path.to_owned(),
    }
}

/// Manifests lie three levels down: tenant, stream, day.
fn collect_manifests(dir: &Path, depth: usize, found: &mut Vec<(PathBuf, Manifest)>) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let path = entry.map_err(|e| io_error(dir, e))?.path();
        if depth < 3 && path.is_dir() {
            collect_manifests(&path, depth + 1, found)?;
        } else if depth == 3
            && path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(MANIFEST_SUFFIX))
            && !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            let text = fs::read(&path).map_err(|e| io_error(&path, e))?;
            let manifest = serde_json::from_slice(&text).map_err(|e| {
                StoreError::Invalid(format!("{} is not a manifest: {e}", path.display()))
            })?;
            found.push((path, manifest));
        }
    }
    Ok(())
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| io_error(dir, e))
}

fn private_file(path: &Path) -> Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| io_error(path, e))
}

fn io_error(path: &Path, error: io::Error) -> StoreError {
    StoreError::Unavailable(format!("archive {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("logbook-archive-test-{}", uuid::Uuid::new_v4()))
    }

    fn events(tenant: TenantId, n: usize) -> Vec<Event> {
        let at: DateTime<Utc> = "2026-01-10T08:00:00Z".parse().unwrap();
        (0..n)
            .map(|i| {
                let mut e = Event::new(tenant, EventType::parse("REQUEST").unwrap(), at);
                e.message = Some(format!("event {i}"));
                e.metadata = Some(serde_json::json!({"n": i, "x": 0.1}));
                e
            })
            .collect()
    }

    /// Writes a data file of `lines` with a manifest that vouches for it.
    fn forged(dir: &Path, tenant: TenantId, lines: &[String], rows: u64) -> PathBuf {
        let mut compressed = Vec::new();
        let mut encoder = zstd::Encoder::new(&mut compressed, 1).unwrap();
        for line in lines {
            encoder.write_all(line.as_bytes()).unwrap();
            encoder.write_all(b"\n").unwrap();
        }
        encoder.finish().unwrap();
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("LOG.ndjson.zst"), &compressed).unwrap();
        let manifest = Manifest {
            format: FORMAT.into(),
            stream: "events".into(),
            tenant_id: tenant,
            day: "2026-01-10".parse().unwrap(),
            event_type: "LOG".into(),
            from_seq: None,
            to_seq: None,
            rows,
            first: None,
            last: None,
            sha256: logbook_model::hex::encode(&Sha256::digest(&compressed)),
            file: "LOG.ndjson.zst".into(),
        };
        let path = dir.join("LOG.manifest.json");
        fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
        path
    }

    #[test]
    fn events_come_back_as_they_went_in() {
        let dir = ArchiveDir::new(temp_dir());
        let tenant = TenantId::new();
        let mut written = events(tenant, 500);
        // The largest line an event makes: 256 KiB of control characters, each written
        // as a six-byte escape.
        written[7].message = Some("\u{1}".repeat(256 * 1024));
        let day = written[0].created_at.date_naive();
        let mut writer = dir.writer(tenant, day, &written[0].event_type).unwrap();
        for e in &written {
            writer.write(e).unwrap();
        }
        let manifest = writer.finish().unwrap();
        assert_eq!(manifest.rows, 500);
        let listed = dir.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].1, manifest);
        let (read_manifest, reader) = open(&listed[0].0).unwrap();
        assert_eq!(read_manifest, manifest);
        let read: Vec<Event> = reader.collect::<Result<_>>().unwrap();
        assert_eq!(read, written);

        // The group archived again (events back-filled since): a second file, the first
        // kept as it was.
        let mut again = dir.writer(tenant, day, &written[0].event_type).unwrap();
        again.write(&written[0]).unwrap();
        let second = again.finish().unwrap();
        assert_eq!(second.file, "REQUEST.2.ndjson.zst");
        let listed = dir.list().unwrap();
        assert_eq!(listed.len(), 2);
        let (first, reader) = open(&listed.iter().find(|(_, m)| m.rows == 500).unwrap().0).unwrap();
        assert_eq!(
            (first.file.as_str(), reader.count()),
            ("REQUEST.ndjson.zst", 500)
        );
        let _ = fs::remove_dir_all(dir.root());
    }

    #[test]
    fn a_line_of_the_limit_is_written_and_read_and_a_byte_more_is_not() {
        let dir = ArchiveDir::new(temp_dir());
        let tenant = TenantId::new();
        let mut event = events(tenant, 1).remove(0);
        event.message = Some(String::new());
        let bare = serde_json::to_vec(&event).unwrap().len();
        event.message = Some("x".repeat(MAX_LINE - bare));
        let day = event.created_at.date_naive();
        let mut writer = dir.writer(tenant, day, &event.event_type).unwrap();
        writer.write(&event).unwrap();
        let mut longer = event.clone();
        longer.message = Some("x".repeat(MAX_LINE - bare + 1));
        let error = writer.write(&longer).unwrap_err().to_string();
        assert!(error.contains("more than an archive line holds"), "{error}");
        writer.finish().unwrap();
        let (path, _) = dir.list().unwrap().remove(0);
        let (_, reader) = open(&path).unwrap();
        let read: Vec<Event> = reader.collect::<Result<_>>().unwrap();
        assert_eq!(read, vec![event]);
        let _ = fs::remove_dir_all(dir.root());
    }

    #[test]
    fn a_line_longer_than_any_event_or_a_wrong_count_is_refused() {
        let dir = temp_dir();
        let tenant = TenantId::new();
        let long = format!("{{\"message\":\"{}\"}}", "x".repeat(MAX_LINE));
        let path = forged(&dir, tenant, &[long], 1);
        let (_, mut reader) = open(&path).unwrap();
        let error = reader.next().unwrap().unwrap_err().to_string();
        assert!(error.contains("longer than any stored event"), "{error}");

        let line = serde_json::to_string(&events(tenant, 1)[0]).unwrap();
        let path = forged(&dir, tenant, &[line.clone(), line], 3);
        let (_, reader) = open(&path).unwrap();
        let error = reader.collect::<Result<Vec<_>>>().unwrap_err().to_string();
        assert!(
            error.contains("holds 2 events; its manifest says 3"),
            "{error}"
        );

        let mut elsewhere: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        elsewhere["file"] = serde_json::json!("../LOG.ndjson.zst");
        fs::write(&path, elsewhere.to_string()).unwrap();
        let error = open(&path).err().unwrap().to_string();
        assert!(error.contains("outside its directory"), "{error}");
        // Even where such a file exists and matches, the manifest may not name it.
        fs::create_dir_all(dir.join("sub")).unwrap();
        for name in ["sub/LOG.ndjson.zst", ".LOG.ndjson.zst"] {
            fs::copy(dir.join("LOG.ndjson.zst"), dir.join(name)).unwrap();
            elsewhere["file"] = serde_json::json!(name);
            fs::write(&path, elsewhere.to_string()).unwrap();
            let error = open(&path).err().unwrap().to_string();
            assert!(error.contains("outside its directory"), "{name}: {error}");
        }

        let mut other_day = events(tenant, 1).remove(0);
        other_day.created_at = "2026-01-11T00:00:00Z".parse().unwrap();
        let line = serde_json::to_string(&other_day).unwrap();
        let path = forged(&dir, tenant, &[line], 1);
        let (_, mut reader) = open(&path).unwrap();
        let error = reader.next().unwrap().unwrap_err().to_string();
        assert!(error.contains("in the archive of 2026-01-10"), "{error}");
        let _ = fs::remove_dir_all(&dir);
    }
}
