//! The `logbook` binary as a user runs it.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::Path,
    process::{Child, Command, Output, Stdio},
};

fn logbook(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logbook"))
        .args(args)
        .env_remove("LOGBOOK_DATABASE_URL")
        .env_remove("TIMESCALE_URI")
        .env("LOGBOOK_DATA_DIR", data_dir)
        .output()
        .expect("run logbook")
}

fn temp_dir() -> std::path::PathBuf {
    logbook_store::testing::temp_sqlite_path()
        .parent()
        .unwrap()
        .to_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn is_key(line: &str) -> bool {
    line.len() == 68 && line.starts_with("lbk_") && line[4..].chars().all(|c| c.is_ascii_hexdigit())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `logbook serve` on a free port over the SQLite data in `dir`, stdout and stderr piped.
/// A running `logbook serve`, killed when dropped, so a failing test leaves no server.
struct Server(Option<Child>);

impl std::ops::Deref for Server {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().expect("a running server")
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().expect("a running server")
    }
}

impl Server {
    /// Stops the server and returns what it printed.
    fn stop(mut self) -> Output {
        let mut child = self.0.take().expect("a running server");
        let _ = child.kill();
        child.wait_with_output().unwrap()
    }

    /// Waits for a server that exits by itself.
    fn exit(mut self) -> Output {
        self.0
            .take()
            .expect("a running server")
            .wait_with_output()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn serve(dir: &Path) -> (Server, u16) {
    let port = free_port();
    (serve_on(dir, &format!("127.0.0.1:{port}")), port)
}

/// `logbook serve --listen ADDRESS` over the SQLite data in `dir`.
fn serve_on(dir: &Path, address: &str) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_logbook"))
        .args(["serve", "--listen", address])
        .env_remove("LOGBOOK_DATABASE_URL")
        .env_remove("TIMESCALE_URI")
        .env_remove("LOGBOOK_SIGNING_KEY")
        .env("LOGBOOK_DATA_DIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Server(Some(child))
}

/// The admin key a first start prints, if it prints one before its output ends.
fn admin_key(server: &mut Child) -> Option<String> {
    BufReader::new(server.stdout.take().unwrap())
        .lines()
        .map(|line| line.unwrap())
        .find_map(|line| is_key(line.trim()).then(|| line.trim().to_owned()))
}

/// Waits until the server says it is listening; fails if its output ends first (it
/// exited). Returns what it logged before.
fn wait_until_listening(server: &mut Child) -> String {
    let mut logged = String::new();
    for line in BufReader::new(server.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.contains("listening") {
            return logged;
        }
        logged.push_str(&line);
        logged.push('\n');
    }
    panic!("the server stopped before it listened: {logged}");
}

#[test]
fn keys_create_prints_the_key_alone() {
    let dir = temp_dir();
    // A command that only reads or adds to a store never makes one: a missing store is
    // an error, and the data dir stays as it was.
    for command in [
        &["keys", "create", "--scopes", "ingest"][..],
        &["keys", "list"],
        &["tenants", "list"],
        &["verify"],
    ] {
        let nowhere = dir.join("nowhere");
        let missing = logbook(&nowhere, command);
        assert_eq!(missing.status.code(), Some(1), "{command:?}");
        assert!(
            text(&missing.stderr).contains("there is no store at"),
            "{command:?}: {}",
            text(&missing.stderr)
        );
        assert!(!nowhere.exists(), "{command:?} made the data dir");
    }
    let migrate = logbook(&dir, &["migrate"]);
    assert!(migrate.status.success(), "{}", text(&migrate.stderr));
    let missing = logbook(&dir, &["keys", "create", "--scopes", "ingest"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("no tenant named \"default\""),
        "{}",
        text(&missing.stderr)
    );

    let tenant = logbook(&dir, &["tenants", "create", "default"]);
    assert!(tenant.status.success(), "{}", text(&tenant.stderr));
    let created = logbook(&dir, &["keys", "create", "--scopes", "ingest,read"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let stdout = text(&created.stdout);
    assert!(
        is_key(stdout.trim_end()) && stdout.lines().count() == 1,
        "{stdout:?}"
    );

    let listed = logbook(&dir, &["keys", "list"]);
    let listing = text(&listed.stdout);
    let row = listing
        .lines()
        .find(|l| l.contains("ingest,read"))
        .expect("the new key is listed");
    assert!(
        !listing.contains(stdout.trim_end()),
        "listings never show the secret"
    );
    let id = row.split('\t').next().unwrap();
    let revoked = logbook(&dir, &["keys", "revoke", id]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let again = text(&logbook(&dir, &["keys", "list"]).stdout);
    assert!(
        again
            .lines()
            .any(|l| l.starts_with(id) && l.split('\t').nth(6) != Some("-")),
        "{again}"
    );
    let bad_tenant = logbook(&dir, &["tenants", "create", "has space"]);
    assert_eq!(bad_tenant.status.code(), Some(1));

    let bad_scope = logbook(&dir, &["keys", "create", "--scopes", "write"]);
    assert_eq!(bad_scope.status.code(), Some(1));
    assert!(text(&bad_scope.stderr).contains("unknown scope"));
}

#[test]
fn mistakes_are_one_line_and_a_non_zero_exit() {
    let dir = temp_dir();
    let wrong_flag = logbook(&dir, &["serve", "--no-such-flag"]);
    assert_eq!(wrong_flag.status.code(), Some(2));
    let stderr = text(&wrong_flag.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--no-such-flag"), "{stderr}");

    let unreachable = logbook(
        &dir,
        &[
            "migrate",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/nothing",
        ],
    );
    assert_eq!(unreachable.status.code(), Some(1));
    let stderr = text(&unreachable.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("logbook: cannot open postgres://"),
        "{stderr}"
    );

    let bad_url = logbook(&dir, &["migrate", "--database-url", "mysql://x"]);
    assert_eq!(bad_url.status.code(), Some(1));
    assert!(text(&bad_url.stderr).contains("unsupported database URL"));
}

#[test]
fn maintain_prints_what_each_job_did() {
    let dir = temp_dir();
    let missing = logbook(&dir, &["maintain"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = text(&missing.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("there is no store"), "{stderr}");

    assert!(logbook(&dir, &["migrate"]).status.success());
    let round = logbook(&dir, &["maintain"]);
    assert!(round.status.success(), "{}", text(&round.stderr));
    assert_eq!(
        text(&round.stdout),
        "storage: no day partition needed; planner statistics refreshed\n\
         rollups: 0 rows merged into 0; 0 rows past their age removed\n\
         retention: not run (give --retention-days, and --retention, as the server has them)\n\
         idempotency keys: 0 older than 24 hours forgotten\n\
         anonymization: off (no --anonymize rules)\n"
    );
    let anonymizing = logbook(&dir, &["maintain", "--anonymize", "REQUEST=30"]);
    assert!(anonymizing.status.success());
    assert!(
        text(&anonymizing.stdout).contains("anonymization: 0 events anonymized"),
        "{}",
        text(&anonymizing.stdout)
    );
    assert!(dir.join("pseudonym.key").exists());
}

/// Events past their time are archived, then removed, by `logbook maintain`; the archive
/// is listed, checks out against its manifest, and restores once, however often asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_are_archived_removed_and_restored() {
    use sha2::Digest;

    let dir = temp_dir();
    assert!(logbook(&dir, &["migrate"]).status.success());
    let store = logbook_store::open(&logbook_store::StoreLocation::Sqlite(
        dir.join("logbook.db"),
    ))
    .await
    .unwrap();
    let tenant = store.create_tenant("shop").await.unwrap().id;
    let now = chrono::Utc::now();
    let old = now - chrono::Duration::days(40);
    let event = |event_type: &str, at| {
        logbook_model::Event::new(
            tenant,
            logbook_model::EventType::parse(event_type).unwrap(),
            at,
        )
    };
    let events = vec![
        event("REQUEST", old),
        event("REQUEST", old),
        event("REQUEST", old),
        event("AUTH_LOGIN", old),
        event("REQUEST", now),
    ];
    let old_ids: Vec<_> = events[..3].iter().map(|e| e.id).collect();
    store
        .append(
            vec![logbook_store::WriteItem::events(tenant, events)].into(),
            now,
        )
        .await
        .unwrap();
    let stored = |store: std::sync::Arc<dyn logbook_store::Store>| async move {
        let query = logbook_model::EventQuery::default();
        let page = store.list_events(tenant, &query).await.unwrap();
        page.items.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };

    let round = logbook(
        &dir,
        &[
            "maintain",
            "--retention-days",
            "30",
            "--retention",
            "AUTH_LOGIN=60",
        ],
    );
    assert!(round.status.success(), "{}", text(&round.stderr));
    assert!(
        text(&round.stdout)
            .contains("retention: 3 events past their time removed, 1 archive files written"),
        "{}",
        text(&round.stdout)
    );
    let left = stored(store.clone()).await;
    assert_eq!(left.len(), 2, "the login (60 days) and today's request");
    assert!(old_ids.iter().all(|id| !left.contains(id)));

    let list = text(&logbook(&dir, &["archive", "list"]).stdout);
    let line = list.lines().next().expect("one archive file");
    assert!(
        line.contains(&tenant.to_string()) && line.contains("REQUEST"),
        "{line}"
    );
    assert!(line.contains(" 3 events "), "{line}");
    let file = std::path::PathBuf::from(line.split_whitespace().last().unwrap());
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(file.with_file_name("REQUEST.manifest.json")).unwrap(),
    )
    .unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(manifest["sha256"], digest.as_str());
    assert_eq!(manifest["rows"], 3);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }

    let file_arg = file.to_str().unwrap();
    let restored = logbook(&dir, &["archive", "restore", file_arg]);
    assert!(restored.status.success(), "{}", text(&restored.stderr));
    assert!(
        text(&restored.stdout).starts_with("restored 3 events"),
        "{}",
        text(&restored.stdout)
    );
    let again = logbook(&dir, &["archive", "restore", file_arg]);
    assert!(
        text(&again.stdout).contains("restored 0 events")
            && text(&again.stdout).contains("3 were already stored"),
        "{}",
        text(&again.stdout)
    );
    let back = stored(store.clone()).await;
    assert_eq!(back.len(), 5);
    assert!(old_ids.iter().all(|id| back.contains(id)));

    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x01;
    std::fs::write(&file, damaged).unwrap();
    let refused = logbook(&dir, &["archive", "restore", file_arg]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("does not match the SHA-256"), "{stderr}");
}

/// `logbook maintain` cuts the audit trail past its retention at a checkpoint signed with
/// the data dir's key; the archive verifies offline with `logbook verify`, the store's
/// chain verifies from the cut, and the archive is not put back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintain_cuts_the_audit_trail_and_its_archive_verifies() {
    let dir = temp_dir();
    assert!(logbook(&dir, &["migrate"]).status.success());
    let store = logbook_store::open(&logbook_store::StoreLocation::Sqlite(
        dir.join("logbook.db"),
    ))
    .await
    .unwrap();
    let tenant = store.create_tenant("shop").await.unwrap().id;
    let received = chrono::Utc::now() - chrono::Duration::days(3);
    let parser = logbook_model::audit::AuditParser::default();
    let events = (0..4)
        .map(|i| {
            let raw = serde_json::json!({"action": "update", "resource_type": "doc", "resource_id": i.to_string()});
            parser.parse_json(tenant, &raw.to_string(), received).unwrap()
        })
        .collect();
    store.append_audit(tenant, events).await.unwrap();
    let args = [
        "maintain",
        "--retention-days",
        "90",
        "--audit-retention-days",
        "1",
    ];
    let unsigned = logbook(&dir, &args);
    assert!(unsigned.status.success(), "{}", text(&unsigned.stderr));
    assert!(
        text(&unsigned.stderr).contains("the audit trail is not cut"),
        "{}",
        text(&unsigned.stderr)
    );

    let seed = [3u8; 32];
    std::fs::write(dir.join("signing.key"), logbook_model::hex::encode(&seed)).unwrap();
    let signer =
        logbook_server::checkpoints::Checkpointer::new(seed, dir.join("checkpoints.ndjson"));
    store.trust_signing_key(signer.public_key()).await.unwrap();
    signer.checkpoint(store.as_ref(), tenant, 1).await.unwrap();
    let round = logbook(&dir, &args);
    assert!(round.status.success(), "{}", text(&round.stderr));
    assert!(
        text(&round.stdout).contains(
            "audit trail: 1 chains cut at a signed checkpoint, 4 events past their time removed, 1 archive files written"
        ),
        "{}",
        text(&round.stdout)
    );
    assert!(
        store
            .audit_range(tenant, 1, 4, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let list = text(&logbook(&dir, &["archive", "list"]).stdout);
    let line = list
        .lines()
        .find(|l| l.contains("audit 1-4"))
        .expect("{list}");
    assert!(line.contains(" 4 events "), "{line}");
    let file = line.split_whitespace().last().unwrap();
    let offline = logbook(&dir, &["verify", file, "--public-key", signer.public_key()]);
    assert!(offline.status.success(), "{}", text(&offline.stderr));
    let verdict: serde_json::Value = serde_json::from_slice(&offline.stdout).unwrap();
    assert_eq!(
        (verdict["ok"].clone(), verdict["checked"].clone()),
        (true.into(), 4.into())
    );
    let online = logbook(&dir, &["verify", "--tenant", "shop"]);
    assert!(online.status.success(), "{}", text(&online.stderr));
    let verdict: serde_json::Value = serde_json::from_slice(&online.stdout).unwrap();
    assert_eq!(verdict["cut"]["seq"], 4);

    let restore = logbook(&dir, &["archive", "restore", file]);
    assert_eq!(restore.status.code(), Some(1));
    let stderr = text(&restore.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("logbook verify"), "{stderr}");
}

#[test]
fn serve_prints_an_admin_key_once_and_keys_can_be_made_while_it_runs() {
    let dir = temp_dir();
    let (mut server, _) = serve(&dir);
    let admin = admin_key(&mut server);
    assert!(admin.is_some(), "serve printed no admin key");

    let created = logbook(&dir, &["keys", "create", "--scopes", "read"]);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(is_key(text(&created.stdout).trim_end()));
    assert_ne!(text(&created.stdout).trim_end(), admin.unwrap());

    // A second start on the same data finds the tenant and prints no key.
    let (mut again, _) = serve(&dir);
    wait_until_listening(&mut again);
    let output = again.stop();
    assert!(
        !text(&output.stdout).contains("lbk_"),
        "{}",
        text(&output.stdout)
    );
}

/// Sends one HTTP/1.1 request and returns the whole answer.
fn http(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn an_audit_trail_exports_and_verifies_offline_and_online() {
    let dir = temp_dir();
    let (mut server, port) = serve(&dir);
    let admin = admin_key(&mut server).unwrap();
    wait_until_listening(&mut server);
    let body = "{\"action\":\"update\",\"resource_type\":\"doc\",\"resource_id\":\"d1\",\"before\":{\"v\":1},\"after\":{\"v\":2}}\n{\"action\":\"delete\",\"resource_type\":\"doc\",\"resource_id\":\"d1\"}\n";
    let answer = http(
        port,
        &format!(
            "POST /api/v1/audit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let public = http(
        port,
        &format!(
            "GET /api/v1/audit/public-key HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nConnection: close\r\n\r\n"
        ),
    );
    let public_key = public
        .split("\"public_key\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    let file = dir.join("audit.ndjson");
    let export = Command::new(env!("CARGO_BIN_EXE_logbook"))
        .args([
            "export",
            "audit",
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--key",
            &admin,
            "--out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(export.status.success(), "{}", text(&export.stderr));

    let verify = |file: &Path| {
        logbook(
            &dir,
            &[
                "verify",
                file.to_str().unwrap(),
                "--public-key",
                &public_key,
            ],
        )
    };
    let good = verify(&file);
    assert!(
        good.status.success(),
        "{}{}",
        text(&good.stdout),
        text(&good.stderr)
    );
    assert!(
        text(&good.stdout).contains("\"checked\": 2"),
        "{}",
        text(&good.stdout)
    );
    let edited = dir.join("edited.ndjson");
    std::fs::write(
        &edited,
        std::fs::read_to_string(&file)
            .unwrap()
            .replacen("\"delete\"", "\"create\"", 1),
    )
    .unwrap();
    let bad = verify(&edited);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("does not verify: seq 2"),
        "{}",
        text(&bad.stderr)
    );

    let online = logbook(&dir, &["verify"]);
    assert!(online.status.success(), "{}", text(&online.stderr));
    assert!(
        text(&online.stdout).contains("\"ok\": true"),
        "{}",
        text(&online.stdout)
    );
    // The same chain edited in the database: the online check fails, naming the seq.
    let db = rusqlite_free_edit(&dir.join("logbook.db"));
    assert!(db, "the edit was made");
    let online = logbook(&dir, &["verify"]);
    assert_eq!(online.status.code(), Some(1), "{}", text(&online.stdout));
    assert!(
        text(&online.stderr).contains("does not verify: seq 1"),
        "{}",
        text(&online.stderr)
    );
}

/// Edits the first audit event's action in the SQLite file with the sqlite3 shell's
/// library-free fallback: rewriting through the store's own crate would be cheating.
fn rusqlite_free_edit(db: &Path) -> bool {
    let sql = "UPDATE audit_events SET action = 'nothing' WHERE seq = 1;";
    // Python's sqlite3 module: a client Logbook did not write.
    Command::new("python3")
        .args([
            "-c",
            &format!(
                "import sqlite3; c = sqlite3.connect({:?}); c.execute({sql:?}); c.commit()",
                db.to_str().unwrap()
            ),
        ])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn serve_listens_before_it_makes_anything() {
    let dir = temp_dir().join("data");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let output = serve_on(&dir, &format!("127.0.0.1:{port}")).exit();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cannot listen on 127.0.0.1"), "{stderr}");
    assert!(
        !text(&output.stdout).contains("lbk_"),
        "no key is printed for a server that never ran"
    );
    assert!(
        !dir.exists(),
        "no store is made for a server that never ran"
    );
    drop(taken);

    // A host name works as well as an address.
    let port = free_port();
    let mut server = serve_on(&dir, &format!("localhost:{port}"));
    assert!(admin_key(&mut server).is_some());
    wait_until_listening(&mut server);
    let answer = http(
        port,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[cfg(unix)]
#[test]
fn the_data_dir_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir().join("data");
    let (mut server, port) = serve(&dir);
    let admin = admin_key(&mut server).unwrap();
    wait_until_listening(&mut server);
    // An audit append, so a checkpoint is signed into the witness file.
    let body = "{\"action\":\"a\",\"resource_type\":\"r\",\"resource_id\":\"1\"}";
    let request = format!(
        "POST /api/v1/audit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    assert!(http(port, &request).starts_with("HTTP/1.1 200"));
    server.kill().unwrap();
    server.wait().unwrap();
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for file in [
        "logbook.db",
        "logbook.db-wal",
        "logbook.db-shm",
        "signing.key",
    ] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    // The checkpoint job signs when the server stops at the latest; the witness file is
    // there once one is signed.
    let witness = dir.join("checkpoints.ndjson");
    if witness.exists() {
        assert_eq!(mode(&witness), 0o600);
    }

    // Files made readable by others are named at the next start.
    std::fs::set_permissions(
        dir.join("logbook.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (mut again, _) = serve(&dir);
    let logged = wait_until_listening(&mut again);
    again.kill().unwrap();
    again.wait().unwrap();
    assert!(
        logged.contains("others may read this Logbook file"),
        "{logged}"
    );
}

#[test]
fn errors_name_what_is_missing_and_keep_their_cause() {
    let dir = temp_dir();
    let missing = logbook(&dir, &["keys", "create"]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = text(&missing.stderr);
    assert!(
        stderr.contains("--scopes"),
        "the missing argument is named: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let refused = logbook(
        &dir,
        &[
            "migrate",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/nothing",
        ],
    );
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("Connection refused"),
        "the cause is kept: {stderr}"
    );
}

#[test]
fn listings_print_control_characters_escaped() {
    let dir = temp_dir();
    assert!(logbook(&dir, &["migrate"]).status.success());
    assert!(
        logbook(&dir, &["tenants", "create", "default"])
            .status
            .success()
    );
    // A name a tenant admin chose: OSC 52 asks a terminal to write the clipboard.
    let name = "ci\u{1b}]52;c;cm0gLXJmIH4=\u{7}";
    let made = logbook(
        &dir,
        &["keys", "create", "--scopes", "read", "--name", name],
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let listing = text(&logbook(&dir, &["keys", "list"]).stdout);
    assert!(
        !listing.contains('\u{1b}') && !listing.contains('\u{7}'),
        "{listing:?}"
    );
    assert!(
        listing.contains("ci\\u{1b}]52;c;cm0gLXJmIH4=\\u{7}"),
        "{listing}"
    );
}

/// Two `logbook serve` processes on one PostgreSQL database, each with its own signing
/// key: audit appends through both make one chain, verification through either holds it
/// against both servers' checkpoints (the keyring), an export verifies offline, and a
/// real edit is caught by both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_chain_on_postgres() {
    let url = logbook_store::testing::fresh_postgres_url().await;
    let start = |dir: &Path| {
        let port = free_port();
        let server = Command::new(env!("CARGO_BIN_EXE_logbook"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &url,
            ])
            .env_remove("LOGBOOK_SIGNING_KEY")
            .env("LOGBOOK_DATA_DIR", dir)
            .env("LOGBOOK_RATE_LIMIT_INGEST", "0")
            .env("LOGBOOK_RATE_LIMIT_READ", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        (Server(Some(server)), port)
    };
    let (mut a, port_a) = start(&temp_dir());
    let admin = admin_key(&mut a).unwrap();
    wait_until_listening(&mut a);
    let (mut b, port_b) = start(&temp_dir());
    wait_until_listening(&mut b);

    let append = move |port: u16, round: usize, requests: usize| {
        let admin = admin.clone();
        std::thread::spawn(move || {
            for request in 0..requests {
                let body: String = (0..20)
                    .map(|i| format!("{{\"action\":\"update\",\"resource_type\":\"doc\",\"resource_id\":\"{port}-{round}-{request}-{i}\"}}\n"))
                    .collect();
                let answer = http(
                    port,
                    &format!(
                        "POST /api/v1/audit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                );
                assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            }
        })
    };
    let key = admin_key_of(&url).await;
    // A thousand events through each server first, so each signs a checkpoint.
    append(port_a, 10, 50).join().unwrap();
    append(port_b, 11, 50).join().unwrap();
    let writers: Vec<_> = (0..3)
        .flat_map(|round| [append(port_a, round, 20), append(port_b, round, 20)])
        .collect();
    // Verification while the writers run, through both servers.
    let mut verdicts = Vec::new();
    for port in [port_a, port_b, port_a, port_b] {
        verdicts.push(get(port, &key, "/api/v1/audit/verify"));
    }
    writers.into_iter().for_each(|w| w.join().unwrap());
    for port in [port_a, port_b] {
        verdicts.push(get(port, &key, "/api/v1/audit/verify"));
    }
    for verdict in &verdicts {
        assert!(verdict.contains("\"ok\":true"), "{verdict}");
    }
    let checked: usize = verdicts
        .last()
        .unwrap()
        .split("\"checked\":")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(checked >= 4_400, "4,400 events and the reads: {checked}");
    let keys = get(port_a, &key, "/api/v1/audit/public-key");
    assert_eq!(
        keys.matches("\"key_id\"").count(),
        2,
        "both servers' keys are trusted: {keys}"
    );
    let checkpoints = get(port_b, &key, "/api/v1/audit/checkpoints");
    let signers: std::collections::HashSet<&str> = checkpoints
        .split("\"key_id\":\"")
        .skip(1)
        .map(|rest| &rest[..64])
        .collect();
    assert_eq!(
        signers.len(),
        2,
        "each server signed checkpoints: {checkpoints}"
    );

    let export = get(port_b, &key, "/api/v1/audit/export");
    let file = temp_dir().join("export.ndjson");
    std::fs::write(&file, &export).unwrap();
    let offline = logbook(&temp_dir(), &["verify", file.to_str().unwrap()]);
    assert!(
        offline.status.success(),
        "{}{}",
        text(&offline.stdout),
        text(&offline.stderr)
    );

    // A real edit, as someone with the database can make.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("UPDATE audit_events SET resource_id = 'forged' WHERE seq = 100")
        .await
        .unwrap();
    for port in [port_a, port_b] {
        let verdict = get(port, &key, "/api/v1/audit/verify");
        assert!(
            verdict.contains("\"ok\":false") && verdict.contains("altered"),
            "{verdict}"
        );
    }
    a.stop();
    let b = b.stop();
    assert!(
        !text(&b.stdout).contains("lbk_"),
        "the second server found the tenant made"
    );
}

/// A read key of the operator tenant, made straight in the store.
async fn admin_key_of(url: &str) -> String {
    let store = logbook_store::open(&logbook_store::StoreLocation::Postgres(url.to_owned()))
        .await
        .unwrap();
    let tenant = store.tenant_by_name("default").await.unwrap().unwrap();
    logbook_server::auth::keys::create(
        store.as_ref(),
        tenant.id,
        "test",
        "read".parse().unwrap(),
        None,
    )
    .await
    .unwrap()
    .secret
}

/// The body of a GET, whatever its status.
fn get(port: u16, key: &str, path: &str) -> String {
    // HTTP/1.0, so a streamed body comes unchunked.
    let answer = http(
        port,
        &format!("GET {path} HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"),
    );
    answer
        .split_once("\r\n\r\n")
        .map_or(answer.clone(), |(_, body)| body.to_owned())
}

/// A database URL carries its password: `--help` names the variable, never its value.
#[test]
fn help_never_shows_the_database_url_it_was_given() {
    for command in [&["serve", "--help"][..], &["verify", "--help"], &["--help"]] {
        let output = Command::new(env!("CARGO_BIN_EXE_logbook"))
            .args(command)
            .env(
                "LOGBOOK_DATABASE_URL",
                "postgres://logbook:s3cret-pw@db.internal/logbook",
            )
            .output()
            .unwrap();
        assert!(output.status.success(), "{command:?}");
        let help = text(&output.stdout);
        assert!(
            !help.contains("s3cret-pw"),
            "{command:?} shows the password:\n{help}"
        );
        if command[0] == "serve" {
            assert!(help.contains("LOGBOOK_DATABASE_URL"), "{help}");
        }
    }
}
