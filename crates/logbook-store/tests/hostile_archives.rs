//! A bounded fuzzer for the archive reader, which `logbook archive restore` points at
//! files from anywhere: mutated manifests, mutated event lines (recompressed) and mutated
//! compressed bytes, each with a manifest whose checksum matches (an editor who changed
//! the file would fix it), must never panic; every event read back lies on the archive's
//! day and belongs to its tenant, and a line longer than any stored event is refused
//! without being held whole.
//!
//! `LOGBOOK_FUZZ_CASES` sets how many archives (default 2,000).

use std::{fs, path::Path};

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use logbook_model::{Event, EventType, TenantId};
use logbook_store::archive::{self, ArchiveDir};
use sha2::{Digest, Sha256};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\n",
    "null",
    "1e999",
    "-0",
    "\\u0000",
    "\"created_at\":\"2001-01-01T00:00:00Z\"",
    "\"tenant_id\":\"00000000-0000-0000-0000-000000000000\"",
];

fn mutate(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 => bytes.insert(at, rng.below(256) as u8),
            1 => {
                let end = (at + rng.below(16)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                bytes.splice(at..at, token.iter().copied());
            }
        }
    }
    bytes
}

fn cases() -> usize {
    std::env::var("LOGBOOK_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

/// Writes `data` as the archive's file and a manifest from `manifest` whose checksum
/// matches it.
fn place(dir: &Path, manifest: &serde_json::Value, data: &[u8]) -> std::path::PathBuf {
    let data_path = dir.join("REQUEST.ndjson.zst");
    fs::write(&data_path, data).unwrap();
    let mut manifest = manifest.clone();
    if let Some(object) = manifest.as_object_mut() {
        object.insert(
            "sha256".into(),
            logbook_model::hex::encode(&Sha256::digest(data)).into(),
        );
    }
    let manifest_path = dir.join("REQUEST.manifest.json");
    fs::write(&manifest_path, manifest.to_string()).unwrap();
    manifest_path
}

#[test]
fn hostile_archives_never_panic_and_what_is_read_belongs_to_the_day() {
    let root = tempdir();
    let tenant = TenantId::new();
    let day = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
    let start = Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).unwrap());
    let mut writer = ArchiveDir::new(&root)
        .writer(tenant, day, &EventType::parse("REQUEST").unwrap())
        .unwrap();
    for i in 0..20 {
        let mut e = Event::new(
            tenant,
            EventType::parse("REQUEST").unwrap(),
            start + Duration::minutes(i),
        );
        e.user_id = Some(format!("user-{i}"));
        e.metadata = Some(serde_json::json!({"n": i, "nested": [1, {"k": "v"}]}));
        writer.write(&e).unwrap();
    }
    writer.finish().unwrap();
    let (manifest_path, _) = ArchiveDir::new(&root).list().unwrap().pop().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(&manifest_path).unwrap()).unwrap();
    let compressed = fs::read(manifest_path.with_file_name("REQUEST.ndjson.zst")).unwrap();
    let lines = zstd::decode_all(&compressed[..]).unwrap();

    let work = root.join("work");
    fs::create_dir_all(&work).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut opened, mut events) = (0, 0);
    for _ in 0..cases() {
        let (manifest, data) = match rng.below(3) {
            0 => {
                let text = mutate(&mut rng, manifest.to_string().into_bytes());
                match serde_json::from_slice(&text) {
                    Ok(m) => (m, compressed.clone()),
                    // A manifest that is not JSON at all goes in as written.
                    Err(_) => {
                        let path = place(&work, &manifest, &compressed);
                        fs::write(&path, &text).unwrap();
                        assert!(archive::open(&path).is_err());
                        continue;
                    }
                }
            }
            1 => (
                manifest.clone(),
                zstd::encode_all(&mutate(&mut rng, lines.clone())[..], 3).unwrap(),
            ),
            _ => (manifest.clone(), mutate(&mut rng, compressed.clone())),
        };
        let path = place(&work, &manifest, &data);
        let Ok((read_manifest, reader)) = archive::open(&path) else {
            continue;
        };
        opened += 1;
        // A count that cannot end is a bug: at most one item per line, and one error.
        for event in reader.take(1_000) {
            let Ok(event) = event else { break };
            events += 1;
            assert_eq!(event.created_at.date_naive(), read_manifest.day);
            assert_eq!(event.tenant_id, read_manifest.tenant_id);
        }
    }
    assert!(
        opened > 0 && events > 0,
        "the fuzzer never got past the checks"
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn a_line_longer_than_any_event_is_refused_without_holding_it() {
    let root = tempdir();
    let tenant = TenantId::new();
    let day = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
    let manifest = serde_json::json!({
        "format": archive::FORMAT, "stream": "events", "tenant_id": tenant, "day": day,
        "event_type": "REQUEST", "rows": 1, "first": null, "last": null, "sha256": "",
        "file": "REQUEST.ndjson.zst",
    });
    // 64 MiB of one line compresses to a few kilobytes.
    let mut encoder = zstd::Encoder::new(Vec::new(), 3).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        std::io::Write::write_all(&mut encoder, &chunk).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    let path = place(&root, &manifest, &bomb);
    let (_, mut reader) = archive::open(&path).unwrap();
    let error = reader.next().unwrap().unwrap_err().to_string();
    assert!(error.contains("longer than any stored event"), "{error}");
    let _ = fs::remove_dir_all(&root);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "logbook-hostile-archives-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    fs::create_dir_all(&dir).unwrap();
    dir
}
