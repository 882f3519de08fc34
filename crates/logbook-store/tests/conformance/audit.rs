//! The audit chain: appends link into one gapless chain per tenant, and every kind of
//! direct tampering in the database is found at its first event.

use std::{path::PathBuf, sync::Arc};

use chrono::Timelike;
use logbook_model::{TenantId, audit::AuditParser};
use logbook_store::{Store, StoreLocation, testing};
use serde_json::json;

pub fn audit_events(tenant: TenantId, n: usize) -> Vec<logbook_model::audit::AuditEvent> {
    let parser = AuditParser::default();
    (0..n)
        .map(|i| {
            let raw = json!({
                "action": "update", "resource_type": "invoice", "resource_id": format!("inv-{i}"),
                "actor_id": "u-7", "before": {"total": i}, "after": {"total": i + 1}, "ip_address": "192.0.2.4",
                "metadata": {"reason": "correction"}
            });
            parser.parse_json(tenant, &raw.to_string(), chrono::Utc::now()).unwrap()
        })
        .collect()
}

pub async fn appends_make_one_gapless_chain_per_tenant(store: Arc<dyn Store>) {
    let (a, b) = (TenantId::new(), TenantId::new());
    let first = store.append_audit(a, audit_events(a, 3)).await.unwrap();
    assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    store.append_audit(b, audit_events(b, 2)).await.unwrap();
    let second = store.append_audit(a, audit_events(a, 2)).await.unwrap();
    assert_eq!(second[0].seq, 4);
    assert_eq!(second[0].prev_hash, first[2].hash);

    let stored = store.audit_range(a, 1, 100, 100).await.unwrap();
    assert_eq!(stored.len(), 5);
    assert_eq!(&stored[..3], &first[..], "stored exactly as appended");
    assert_eq!(
        store.audit_head(a).await.unwrap(),
        (5, second[1].hash.clone())
    );
    let verified = store.verify_audit(a, 1, None, Vec::new()).await.unwrap();
    assert!(verified.ok && verified.checked == 5, "{verified:?}");
    let part = store.verify_audit(a, 3, Some(4), Vec::new()).await.unwrap();
    assert!(
        part.ok && part.checked == 2 && part.first_seq == Some(3),
        "{part:?}"
    );
    assert_eq!(
        store.audit_range(b, 1, 100, 100).await.unwrap().len(),
        2,
        "chains are per tenant"
    );
    assert!(
        store
            .audit_range(TenantId::new(), 1, 100, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Each condition of an audit search selects exactly its events, and they all combine.
pub async fn audit_search_applies_every_condition(store: Arc<dyn Store>) {
    use logbook_model::audit::AuditQuery;

    let tenant = TenantId::new();
    let parser = AuditParser::default();
    let now = chrono::Utc::now();
    // (actor, action, resource type, resource id, hours ago)
    let rows = [
        ("u-1", "create", "invoice", "inv-1", 5),
        ("u-1", "update", "invoice", "inv-1", 4),
        ("u-2", "update", "invoice", "inv-2", 3),
        ("u-2", "delete", "customer", "c-1", 2),
        ("u-3", "audit_trail_read", "audit_trail", "all", 1),
    ];
    let events = rows
        .iter()
        .map(|(actor, action, kind, id, hours)| {
            let at = now - chrono::Duration::hours(*hours);
            let raw = json!({
                "action": action, "resource_type": kind, "resource_id": id, "actor_id": actor,
                "occurred_at": at.to_rfc3339(),
            });
            parser.parse_json(tenant, &raw.to_string(), now).unwrap()
        })
        .collect();
    store.append_audit(tenant, events).await.unwrap();
    // Another tenant's events never answer.
    let other = TenantId::new();
    store
        .append_audit(other, audit_events(other, 3))
        .await
        .unwrap();

    let all = AuditQuery {
        limit: 100,
        ..Default::default()
    };
    let seqs = |query: AuditQuery| {
        let store = store.clone();
        async move {
            store
                .search_audit(tenant, &query)
                .await
                .unwrap()
                .iter()
                .map(|event| event.seq)
                .collect::<Vec<_>>()
        }
    };
    let hours_ago = |hours| Some(now - chrono::Duration::hours(hours));
    let cases = [
        ("none", all.clone(), vec![5, 4, 3, 2, 1]),
        (
            "actor",
            AuditQuery {
                actor_id: Some("u-2".into()),
                ..all.clone()
            },
            vec![4, 3],
        ),
        (
            "actions",
            AuditQuery {
                actions: vec!["create".into(), "delete".into()],
                ..all.clone()
            },
            vec![4, 1],
        ),
        (
            "reads hidden",
            AuditQuery {
                hide_reads: true,
                ..all.clone()
            },
            vec![4, 3, 2, 1],
        ),
        (
            "resource type",
            AuditQuery {
                resource_type: Some("invoice".into()),
                ..all.clone()
            },
            vec![3, 2, 1],
        ),
        (
            "resource id",
            AuditQuery {
                resource_id: Some("inv-1".into()),
                ..all.clone()
            },
            vec![2, 1],
        ),
        (
            "from, inclusive",
            AuditQuery {
                from: hours_ago(3),
                ..all.clone()
            },
            vec![5, 4, 3],
        ),
        (
            "to, exclusive",
            AuditQuery {
                to: hours_ago(3),
                ..all.clone()
            },
            vec![2, 1],
        ),
        (
            "combined",
            AuditQuery {
                actor_id: Some("u-1".into()),
                actions: vec!["update".into()],
                resource_type: Some("invoice".into()),
                from: hours_ago(6),
                to: hours_ago(1),
                ..all.clone()
            },
            vec![2],
        ),
    ];
    for (name, query, expected) in cases {
        assert_eq!(seqs(query).await, expected, "{name}");
    }
}

/// The keyring keeps each trusted key once, its time of trust, and its retirement.
pub async fn the_keyring_remembers_trust_and_retirement(store: Arc<dyn Store>) {
    let (first, second) = ("a1".repeat(32), "b2".repeat(32));
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    store.trust_signing_key(&first).await.unwrap();
    store.trust_signing_key(&second).await.unwrap();
    let trusted = store.keyring().await.unwrap().0;
    let mut ids: Vec<_> = trusted.iter().map(|key| key.key_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, [first.clone(), second.clone()]);
    assert!(
        trusted
            .iter()
            .all(|key| key.added_at >= before && key.retired_at.is_none())
    );

    let retired_at = chrono::Utc::now().with_nanosecond(0).unwrap();
    assert!(store.retire_signing_key(&first, retired_at).await.unwrap());
    assert!(
        !store
            .retire_signing_key(&"c3".repeat(32), retired_at)
            .await
            .unwrap()
    );
    // Trusting a key again changes nothing: a retired key stays retired.
    store.trust_signing_key(&first).await.unwrap();
    let trusted = store.keyring().await.unwrap().0;
    assert_eq!(trusted.len(), 2, "{trusted:?}");
    let of = |id: &str| trusted.iter().find(|key| key.key_id == id).unwrap().clone();
    assert_eq!(of(&first).retired_at, Some(retired_at));
    assert_eq!(of(&second).retired_at, None);
}

/// Every tenant's chain head, as the checkpointer reads them.
pub async fn audit_heads_name_every_chain(store: Arc<dyn Store>) {
    let (a, b) = (TenantId::new(), TenantId::new());
    let a_events = store.append_audit(a, audit_events(a, 3)).await.unwrap();
    let b_events = store.append_audit(b, audit_events(b, 2)).await.unwrap();
    let mut heads = store.audit_heads().await.unwrap();
    heads.retain(|(tenant, _, _)| *tenant == a || *tenant == b);
    heads.sort_by_key(|(_, seq, _)| *seq);
    assert_eq!(
        heads,
        [
            (b, 2, b_events[1].hash.clone()),
            (a, 3, a_events[2].hash.clone())
        ]
    );
}

/// A signed checkpoint is kept once per seq, read back per tenant, and held against the
/// chain by verification.
pub async fn checkpoints_are_kept_and_held_against_the_chain(store: Arc<dyn Store>) {
    use ed25519_dalek::SigningKey;
    use logbook_model::hex;

    let key = SigningKey::from_bytes(&[5; 32]);
    let key_id = hex::encode(key.verifying_key().as_bytes());
    store.trust_signing_key(&key_id).await.unwrap();
    let tenant = TenantId::new();
    let events = store
        .append_audit(tenant, audit_events(tenant, 4))
        .await
        .unwrap();
    let signed = |seq: i64, hash: &str, seconds: i64| {
        let time = chrono::DateTime::from_timestamp(1_767_000_000 + seconds, 0).unwrap();
        sign(&key, tenant, seq, hash, time, false)
    };
    let at_two = signed(2, &events[1].hash, 0);
    store.add_checkpoint(at_two.clone()).await.unwrap();
    store
        .add_checkpoint(signed(2, &events[1].hash, 60))
        .await
        .unwrap();
    assert_eq!(
        store.checkpoints(tenant).await.unwrap(),
        [at_two],
        "one per seq: the first"
    );
    assert!(store.checkpoints(TenantId::new()).await.unwrap().is_empty());
    let verified = store
        .verify_audit(tenant, 1, None, Vec::new())
        .await
        .unwrap();
    assert!(verified.ok, "{verified:?}");

    // A checkpoint that signed another hash at seq 3: the chain no longer agrees with it.
    store
        .add_checkpoint(signed(3, &events[0].hash, 0))
        .await
        .unwrap();
    let verified = store
        .verify_audit(tenant, 1, None, Vec::new())
        .await
        .unwrap();
    assert_eq!(
        verified.first_bad.map(|bad| bad.seq),
        Some(3),
        "the stored checkpoint is held against the chain"
    );
}

/// What one actor did: events, days active, first and last, failures.
pub async fn actor_summary_counts_one_actor(store: Arc<dyn Store>) {
    let tenant = TenantId::new();
    let parser = AuditParser::default();
    let now = chrono::Utc::now();
    let day = chrono::Duration::days(1);
    // (actor, outcome, when)
    let rows = [
        ("u-1", "success", now - day * 2),
        (
            "u-1",
            "failure",
            now - day * 2 + chrono::Duration::minutes(1),
        ),
        ("u-1", "success", now - day),
        ("u-2", "failure", now),
    ];
    let events = rows
        .iter()
        .map(|(actor, outcome, at)| {
            let raw = json!({
                "action": "update", "resource_type": "invoice", "resource_id": "inv-1",
                "actor_id": actor, "outcome": outcome, "occurred_at": at.to_rfc3339(),
            });
            parser.parse_json(tenant, &raw.to_string(), now).unwrap()
        })
        .collect::<Vec<_>>();
    let (first_seen, last_seen) = (events[0].occurred_at, events[2].occurred_at);
    store.append_audit(tenant, events).await.unwrap();
    let summary = store.actor_summary(tenant, "u-1").await.unwrap();
    assert_eq!(
        (
            summary.total,
            summary.failures,
            summary.first_seen,
            summary.last_seen
        ),
        (3, 1, Some(first_seen), Some(last_seen))
    );
    // The first two, a minute apart, may straddle midnight: two days or three, never one.
    assert!((2..=3).contains(&summary.active_days), "{summary:?}");
    let nobody = store.actor_summary(tenant, "u-9").await.unwrap();
    assert_eq!((nobody.total, nobody.first_seen), (0, None));
}

/// Raw SQL straight into the database, as an attacker with database access would.
enum Raw {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Raw {
    async fn execute(&self, tenant: TenantId, sql: &str) {
        match self {
            Raw::Sqlite(path) => {
                let sql = sql.replace("{tenant}", &format!("X'{}'", tenant.0.simple()));
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute_batch(&sql).unwrap();
            }
            Raw::Postgres(url) => {
                let sql = sql.replace("{tenant}", &format!("'{}'::uuid", tenant.0));
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                client.batch_execute(&sql).await.unwrap();
            }
        }
    }
}

const TAMPERING: &[(&str, &str, i64, &str)] = &[
    ("change one field", "UPDATE audit_events SET description = 'nothing to see' WHERE tenant_id = {tenant} AND seq = 3", 3, "altered"),
    ("delete a middle row", "DELETE FROM audit_events WHERE tenant_id = {tenant} AND seq = 3", 3, "gap"),
    (
        "swap two rows",
        "UPDATE audit_events SET seq = -1 WHERE tenant_id = {tenant} AND seq = 2;
         UPDATE audit_events SET seq = 2 WHERE tenant_id = {tenant} AND seq = 4;
         UPDATE audit_events SET seq = 4 WHERE tenant_id = {tenant} AND seq = -1;",
        2,
        "prev_hash",
    ),
    ("delete the newest rows", "DELETE FROM audit_events WHERE tenant_id = {tenant} AND seq >= 4", 4, "truncated"),
    (
        "append a forged row",
        "INSERT INTO audit_events (tenant_id, seq, id, occurred_at, received_at, action, resource_type, outcome, severity, prev_hash, hash)
         SELECT tenant_id, 6, id, occurred_at, received_at, 'delete', resource_type, outcome, severity, hash,
                'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'
         FROM audit_events WHERE tenant_id = {tenant} AND seq = 5",
        6,
        "past the chain head",
    ),
];

async fn every_tampering_is_found(store: Arc<dyn Store>, raw: Raw) {
    for (name, sql, seq, reason) in TAMPERING {
        let tenant = TenantId::new();
        store
            .append_audit(tenant, audit_events(tenant, 5))
            .await
            .unwrap();
        assert!(
            store
                .verify_audit(tenant, 1, None, Vec::new())
                .await
                .unwrap()
                .ok,
            "{name}: intact first"
        );
        raw.execute(tenant, sql).await;
        let result = store
            .verify_audit(tenant, 1, None, Vec::new())
            .await
            .unwrap();
        let bad = result
            .first_bad
            .unwrap_or_else(|| panic!("{name}: not detected"));
        assert_eq!(bad.seq, *seq, "{name}: {}", bad.reason);
        assert!(bad.reason.contains(reason), "{name}: {}", bad.reason);
    }

    // A verification that starts after its first row needs the row before, to link to.
    let tenant = TenantId::new();
    store
        .append_audit(tenant, audit_events(tenant, 5))
        .await
        .unwrap();
    raw.execute(
        tenant,
        "DELETE FROM audit_events WHERE tenant_id = {tenant} AND seq = 2",
    )
    .await;
    let result = store
        .verify_audit(tenant, 3, None, Vec::new())
        .await
        .unwrap();
    let bad = result.first_bad.expect("the row before the range is gone");
    assert_eq!(
        (bad.seq, bad.reason.as_str()),
        (2, "seq 2 is missing"),
        "a partial verification whose previous row is deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tampering_is_found() {
    let path = testing::temp_sqlite_path();
    let store = logbook_store::open(&StoreLocation::Sqlite(path.clone()))
        .await
        .unwrap();
    every_tampering_is_found(store, Raw::Sqlite(path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tampering_is_found() {
    let url = testing::fresh_postgres_url().await;
    let store = logbook_store::open(&StoreLocation::Postgres(url.clone()))
        .await
        .unwrap();
    every_tampering_is_found(store, Raw::Postgres(url)).await;
}

/// Two stores on one database — as two `logbook serve` processes — appending to one
/// tenant at once still make a single gapless chain.
async fn concurrent_writers_make_one_chain(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let tenant = TenantId::new();
    let writer = |store: Arc<dyn Store>| {
        tokio::spawn(async move {
            for _ in 0..20 {
                store
                    .append_audit(tenant, audit_events(tenant, 3))
                    .await
                    .unwrap();
            }
        })
    };
    let (a, b) = (writer(first.clone()), writer(second));
    a.await.unwrap();
    b.await.unwrap();
    let result = first
        .verify_audit(tenant, 1, None, Vec::new())
        .await
        .unwrap();
    assert!(result.ok && result.checked == 120, "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_writers_make_one_chain() {
    let path = testing::temp_sqlite_path();
    let location = StoreLocation::Sqlite(path);
    let (one, two) = (
        logbook_store::open(&location).await.unwrap(),
        logbook_store::open(&location).await.unwrap(),
    );
    concurrent_writers_make_one_chain(one, two).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_writers_make_one_chain() {
    let location = StoreLocation::Postgres(testing::fresh_postgres_url().await);
    let (one, two) = (
        logbook_store::open(&location).await.unwrap(),
        logbook_store::open(&location).await.unwrap(),
    );
    concurrent_writers_make_one_chain(one, two).await;
}

/// Every double an audit event carries reads back bit for bit, so what was hashed is
/// what verification hashes again: random bit patterns (every exponent, subnormals), the
/// extremes, and ordinary values whose last digit parsing once moved.
pub async fn audit_numbers_survive_storage(store: Arc<dyn Store>) {
    let tenant = TenantId::new();
    let parser = AuditParser::default();
    let mut state = 0x5eed_u64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut doubles = vec![
        1.7976931348623157e308,
        -1.7976931348623157e308,
        5e-324,
        7.370437700706684e208,
        1.2345678901234567e200,
        959330.2421089433,
    ];
    while doubles.len() < 300 {
        let f = f64::from_bits(next());
        if f.is_finite() {
            doubles.push(f);
        }
    }
    let events: Vec<_> = doubles
        .chunks(10)
        .enumerate()
        .map(|(i, chunk)| {
            let raw =
                json!({"action": "update", "resource_type": "price", "resource_id": i.to_string(),
                             "after": {"prices": chunk}})
                .to_string();
            parser.parse_json(tenant, &raw, chrono::Utc::now()).unwrap()
        })
        .collect();
    store.append_audit(tenant, events).await.unwrap();
    let stored = store.audit_range(tenant, 1, 100, 100).await.unwrap();
    let read: Vec<f64> = stored
        .iter()
        .flat_map(|e| {
            e.after.as_ref().unwrap()["prices"]
                .as_array()
                .unwrap()
                .clone()
        })
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (sent, back) in doubles.iter().zip(&read) {
        assert_eq!(
            sent.to_bits(),
            back.to_bits(),
            "{sent:e} came back as {back:e}"
        );
    }
    for e in &stored {
        assert_eq!(
            logbook_model::audit::chain::hash_of(e),
            e.hash,
            "seq {}",
            e.seq
        );
    }
    let verified = store
        .verify_audit(tenant, 1, None, Vec::new())
        .await
        .unwrap();
    assert!(verified.ok && verified.checked == 30, "{verified:?}");
}

/// Every column an audit event is stored in, each edited alone in SQL: each edit breaks
/// the chain at that event. (A column left out of the hash would let that edit through.)
const EDITS: &[(&str, &str, &str)] = &[
    ("id", "randomblob(16)", "gen_random_uuid()"),
    (
        "occurred_at",
        "occurred_at + 1",
        "occurred_at + interval '1 microsecond'",
    ),
    (
        "received_at",
        "received_at + 1",
        "received_at + interval '1 microsecond'",
    ),
    ("actor_id", "'someone else'", "'someone else'"),
    ("actor_email", "'x@example.com'", "'x@example.com'"),
    ("actor_role", "'admin'", "'admin'"),
    ("action", "'read'", "'read'"),
    ("resource_type", "'other'", "'other'"),
    ("resource_id", "'other'", "'other'"),
    ("resource_name", "'other'", "'other'"),
    ("description", "'other'", "'other'"),
    ("before", "'{\"total\": 99}'", "'{\"total\": 99}'"),
    ("after", "'{\"total\": 99}'", "'{\"total\": 99}'"),
    ("changes", "'{}'", "'{}'"),
    ("outcome", "'failure'", "'failure'"),
    ("failure_reason", "'other'", "'other'"),
    ("ip_address", "'192.0.2.99'", "'192.0.2.99'"),
    ("user_agent", "'other'", "'other'"),
    ("session_id", "'other'", "'other'"),
    ("request_id", "'other'", "'other'"),
    ("module", "'other'", "'other'"),
    ("severity", "'critical'", "'critical'"),
    ("data_classification", "'PII'", "'PII'"),
    (
        "metadata",
        "'{\"reason\": \"other\"}'",
        "'{\"reason\": \"other\"}'",
    ),
];

async fn every_column_is_held_by_the_hash(store: Arc<dyn Store>, raw: Raw) {
    let postgres = matches!(raw, Raw::Postgres(_));
    for (column, sqlite_value, postgres_value) in EDITS {
        let tenant = TenantId::new();
        store
            .append_audit(tenant, audit_events(tenant, 5))
            .await
            .unwrap();
        let value = if postgres {
            postgres_value
        } else {
            sqlite_value
        };
        let sql = format!(
            "UPDATE audit_events SET {column} = {value} WHERE tenant_id = {{tenant}} AND seq = 3"
        );
        raw.execute(tenant, &sql).await;
        let result = store
            .verify_audit(tenant, 1, None, Vec::new())
            .await
            .unwrap();
        let bad = result
            .first_bad
            .unwrap_or_else(|| panic!("an edit of {column} went unnoticed"));
        assert_eq!(bad.seq, 3, "{column}: {}", bad.reason);
        assert!(bad.reason.contains("altered"), "{column}: {}", bad.reason);
    }
    let columns: Vec<&str> = logbook_store::AUDIT_COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|c| !["tenant_id", "seq", "prev_hash", "hash"].contains(c))
        .collect();
    let edited: Vec<&str> = EDITS.iter().map(|(c, _, _)| *c).collect();
    assert_eq!(
        columns, edited,
        "every stored column is edited once (the chain columns have their own tests)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_column_is_held_by_the_hash() {
    let path = testing::temp_sqlite_path();
    let store = logbook_store::open(&StoreLocation::Sqlite(path.clone()))
        .await
        .unwrap();
    every_column_is_held_by_the_hash(store, Raw::Sqlite(path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_column_is_held_by_the_hash() {
    let url = testing::fresh_postgres_url().await;
    let store = logbook_store::open(&StoreLocation::Postgres(url.clone()))
        .await
        .unwrap();
    every_column_is_held_by_the_hash(store, Raw::Postgres(url)).await;
}

/// A signed cut: the store keeps it only while its event holds the hash it names,
/// removes the chain up to it, and verification then starts after it — and only after a
/// cut a trusted key signed. Appends go on throughout.
pub async fn a_cut_removes_the_chain_before_it_and_verification_starts_after_it(
    store: Arc<dyn Store>,
) {
    use ed25519_dalek::SigningKey;
    use logbook_model::{audit::checkpoint::Checkpoint, hex};

    let key = SigningKey::from_bytes(&[6; 32]);
    let key_id = hex::encode(key.verifying_key().as_bytes());
    store.trust_signing_key(&key_id).await.unwrap();
    let tenant = TenantId::new();
    let events = store
        .append_audit(tenant, audit_events(tenant, 10))
        .await
        .unwrap();
    let now = chrono::Utc::now().with_nanosecond(0).unwrap();
    let sign = |key: &SigningKey, seq: usize, cut: bool| {
        sign(key, tenant, seq as i64, &events[seq - 1].hash, now, cut)
    };
    for seq in [4, 7] {
        store.add_checkpoint(sign(&key, seq, false)).await.unwrap();
    }
    let received = events[0].received_at;
    assert_eq!(
        store.audit_cut_point(tenant, received).await.unwrap(),
        None,
        "nothing received before the first event"
    );
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let point = store.audit_cut_point(tenant, later).await.unwrap().unwrap();
    assert_eq!((point.seq, point.cut), (7, false), "the newest checkpoint");
    // A checkpoint whose event no longer holds the hash it signed is no place to cut.
    let stale_chain = TenantId::new();
    let stale_events = store
        .append_audit(stale_chain, audit_events(stale_chain, 3))
        .await
        .unwrap();
    for (seq, hash) in [(2, &stale_events[1].hash), (3, &stale_events[0].hash)] {
        let checkpoint = self::sign(&key, stale_chain, seq, hash, now, false);
        store.add_checkpoint(checkpoint).await.unwrap();
    }
    assert_eq!(
        store
            .audit_cut_point(stale_chain, later)
            .await
            .unwrap()
            .map(|c| c.seq),
        Some(2)
    );

    // A cut naming a hash its event does not hold is refused, and nothing is removed.
    let wrong = Checkpoint {
        hash: events[2].hash.clone(),
        ..sign(&key, 4, true)
    };
    assert!(matches!(
        store.cut_audit(wrong).await,
        Err(logbook_store::StoreError::Conflict(_))
    ));
    assert_eq!(store.audit_cut(tenant).await.unwrap(), None);
    assert_eq!(store.remove_cut_audit().await.unwrap(), 0);

    // Appends go on while the chain is cut and its start removed.
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..20 {
                store
                    .append_audit(tenant, audit_events(tenant, 5))
                    .await
                    .unwrap();
            }
        })
    };
    let cut = sign(&key, 4, true);
    store.cut_audit(cut.clone()).await.unwrap();
    assert_eq!(store.audit_cut(tenant).await.unwrap(), Some(cut.clone()));
    let during = store
        .verify_audit(tenant, 1, None, Vec::new())
        .await
        .unwrap();
    assert!(during.ok, "between the cut and the removal: {during:?}");
    assert_eq!(store.remove_cut_audit().await.unwrap(), 4);
    writer.await.unwrap();
    assert!(
        store
            .audit_range(tenant, 1, 4, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.audit_range(tenant, 5, 5, 1).await.unwrap()[0].seq, 5);

    let verified = store
        .verify_audit(tenant, 1, None, Vec::new())
        .await
        .unwrap();
    assert!(verified.ok, "{verified:?}");
    assert_eq!(
        (verified.first_seq, verified.last_seq, verified.checked),
        (Some(5), Some(110), 106)
    );
    assert_eq!(verified.cut, Some(cut.clone()));
    let from_six = store
        .verify_audit(tenant, 6, None, Vec::new())
        .await
        .unwrap();
    assert!(from_six.ok && from_six.cut.is_none() && from_six.first_seq == Some(6));
    assert_eq!(
        store
            .audit_cut_point(tenant, later)
            .await
            .unwrap()
            .map(|c| c.seq),
        Some(7),
        "past the cut"
    );

    // A cut no trusted key signed does not vouch for the chain's new start.
    let stranger = SigningKey::from_bytes(&[8; 32]);
    store.cut_audit(sign(&stranger, 7, true)).await.unwrap();
    assert_eq!(store.remove_cut_audit().await.unwrap(), 3);
    let verified = store
        .verify_audit(tenant, 1, None, Vec::new())
        .await
        .unwrap();
    assert_eq!(
        verified.first_bad.map(|bad| (bad.seq, bad.reason)),
        Some((
            7,
            "the chain was cut after seq 7, but no trusted key signed that cut".to_owned()
        ))
    );
    // Witnessed cuts count as stored ones: the trusted one at 4 is no help past seq 7.
    let other = TenantId::new();
    store
        .append_audit(other, audit_events(other, 3))
        .await
        .unwrap();
    let others = store.verify_audit(other, 1, None, vec![cut]).await.unwrap();
    assert!(
        others.ok && others.checked == 3 && others.cut.is_none(),
        "another tenant's cut is not this chain's: {others:?}"
    );
}

/// A checkpoint, or a cut, of `tenant`'s chain at `seq`, signed with `key`.
fn sign(
    key: &ed25519_dalek::SigningKey,
    tenant: TenantId,
    seq: i64,
    hash: &str,
    time: chrono::DateTime<chrono::Utc>,
    cut: bool,
) -> logbook_model::audit::checkpoint::Checkpoint {
    use ed25519_dalek::Signer;
    use logbook_model::hex;

    let mut statement = logbook_model::audit::checkpoint::Checkpoint {
        tenant_id: tenant,
        seq,
        hash: hash.to_owned(),
        count: seq,
        time,
        key_id: hex::encode(key.verifying_key().as_bytes()),
        signature: String::new(),
        cut,
    };
    statement.signature = hex::encode(&key.sign(statement.signed_text().as_bytes()).to_bytes());
    statement
}
