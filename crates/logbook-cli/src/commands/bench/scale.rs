//! `logbook bench scale`: the read routes' answers at ten million events, beside the same
//! questions answered by scanning the events table without its indexes (the reference a
//! table without rollups or indexes gives), and SQLite ingest through the server into the
//! full store beside ingest into an empty one — all in one run, on the same generated
//! events.

use std::{
    future::Future,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use chrono::{DurationRound, Utc};
use logbook_model::{
    EventFilter, EventQuery, FailedAuthQuery, TenantId,
    summary::{DAY, HOUR, first_bucket},
};
use logbook_store::{
    LifecycleStore, RollupStore, Store, StoreLocation, WriteItem, postgres::PgStore,
    sqlite::SqliteStore,
};

use super::{
    http,
    postgres::Databases,
    workload::{self, Stream},
};

/// Events per load transaction: the server's largest group commit.
const LOAD_BATCH: usize = 10_000;
/// Events whose ingest rate is compared: the first into the empty store, the last into
/// the full one; and the events posted over HTTP into each.
const SAMPLE: usize = 200_000;
/// Events per HTTP request, and concurrent clients, as `bench ingest` posts them.
const REQUEST_EVENTS: usize = 1000;
const CLIENTS: usize = 16;

pub struct ScaleArgs {
    pub events: usize,
    pub days: i64,
    pub full_day: bool,
    pub runs: usize,
    pub database_url: String,
    pub skip_sqlite: bool,
    pub skip_postgres: bool,
    /// Time the console's pages beside the API requests they make.
    pub pages: bool,
    /// Leave out the routes' table, their scans and the HTTP ingest comparison.
    pub skip_routes: bool,
}

pub async fn run(args: ScaleArgs) -> anyhow::Result<()> {
    println!(
        "Scale benchmark: {} events of the ingest benchmark's mix spread over {} days, \
         loaded {LOAD_BATCH} per transaction; p50 of {} runs per question",
        args.events, args.days, args.runs
    );
    if !args.skip_sqlite {
        let dir = std::env::temp_dir().join(format!("logbook-bench-scale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let result = sqlite(&args, &dir).await;
        let _ = std::fs::remove_dir_all(&dir);
        result?;
    }
    if !args.skip_postgres {
        let databases = Databases::connect(&args.database_url).await?;
        let result = postgres(&args, &databases).await;
        databases.drop_all().await;
        result?;
    }
    Ok(())
}

/// Appends the stream, timing the first and last [`SAMPLE`] events.
async fn load(store: &dyn Store, tenant: TenantId, args: &ScaleArgs) -> anyhow::Result<Load> {
    let now = Utc::now();
    let end = match args.full_day {
        true => now.duration_trunc(chrono::Duration::days(1))? + chrono::Duration::days(1),
        false => now,
    };
    let mut stream = Stream::new(tenant, args.events, end, chrono::Duration::days(args.days));
    let since = Utc::now();
    let (mut first, mut last, mut stored) = (Duration::ZERO, Duration::ZERO, 0);
    let began = Instant::now();
    loop {
        let chunk = stream.next_chunk(LOAD_BATCH);
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        let started = Instant::now();
        store
            .append(vec![WriteItem::events(tenant, chunk)].into(), since)
            .await?;
        if stored < SAMPLE {
            first += started.elapsed();
        }
        if stored + n > args.events.saturating_sub(SAMPLE) {
            last += started.elapsed();
        }
        stored += n;
        if stored % 1_000_000 == 0 {
            eprintln!("  {stored} events stored");
        }
    }
    let sample = SAMPLE.min(args.events) as f64;
    Ok(Load {
        empty_rate: sample / first.as_secs_f64(),
        full_rate: sample / last.as_secs_f64(),
        total: began.elapsed(),
    })
}

struct Load {
    empty_rate: f64,
    full_rate: f64,
    total: Duration,
}

impl Load {
    fn print(&self, events: usize) {
        println!(
            "  loaded {events} events in {:.0} s (generation and parsing included); the first \
             {SAMPLE} went in at {:.0} events/s, the last at {:.0} events/s (ratio {:.2})",
            self.total.as_secs_f64(),
            self.empty_rate,
            self.full_rate,
            self.full_rate / self.empty_rate
        );
    }
}

/// The p50 of `runs` timed runs of `f`, after one untimed run to warm the cache.
pub(super) async fn p50<F, Fut, T>(runs: usize, mut f: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    f().await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        f().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// One read question: how the route answers it and how a scan of the table does.
struct Question {
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Each question's raw scan reads `events` alone (SQLite: `NOT INDEXED`; PostgreSQL: index
/// scans off, so day partitions are still pruned by time). `?1`/`$1` is the tenant, `?2`/`$2`
/// the window start, `?3`/`$3` the value looked up.
const QUESTIONS: [Question; 9] = [
    Question {
        name: "summary, 24 h",
        sqlite: "SELECT COUNT(*) FILTER (WHERE event_type = 'REQUEST'),
                COUNT(*) FILTER (WHERE event_type = 'AUTH_LOGIN' AND success = 1),
                COUNT(*) FILTER (WHERE event_type IN ('AUTH_LOGIN', 'AUTH_FAILURE') AND success = 0),
                COUNT(*) FILTER (WHERE event_type = 'RATE_LIMIT'),
                COUNT(DISTINCT user_id), COUNT(DISTINCT ip_address)
             FROM events NOT INDEXED WHERE tenant_id = ?1 AND created_at >= ?2 AND ?3 IS NOT NULL",
        postgres: "SELECT COUNT(*) FILTER (WHERE event_type = 'REQUEST'),
                COUNT(*) FILTER (WHERE event_type = 'AUTH_LOGIN' AND success),
                COUNT(*) FILTER (WHERE event_type IN ('AUTH_LOGIN', 'AUTH_FAILURE') AND NOT success),
                COUNT(*) FILTER (WHERE event_type = 'RATE_LIMIT'),
                COUNT(DISTINCT user_id), COUNT(DISTINCT ip_address)
             FROM events WHERE tenant_id = $1 AND created_at >= $2 AND $3::text IS NOT NULL",
    },
    Question {
        name: "hourly, 24 h",
        sqlite: "SELECT (created_at / 3600000000) * 3600000000 AS bucket, event_type, COUNT(*),
                COUNT(*) FILTER (WHERE success = 1), COUNT(*) FILTER (WHERE success = 0),
                COUNT(DISTINCT user_id), COUNT(DISTINCT ip_address),
                AVG(response_time_ms), MAX(response_time_ms)
             FROM events NOT INDEXED WHERE tenant_id = ?1 AND created_at >= ?2 AND ?3 IS NOT NULL
             GROUP BY bucket, event_type ORDER BY bucket DESC, event_type",
        postgres: "SELECT date_bin('1 hour', created_at, TIMESTAMPTZ 'epoch') AS bucket, event_type,
                COUNT(*), COUNT(*) FILTER (WHERE success), COUNT(*) FILTER (WHERE NOT success),
                COUNT(DISTINCT user_id), COUNT(DISTINCT ip_address),
                AVG(response_time_ms), MAX(response_time_ms)
             FROM events WHERE tenant_id = $1 AND created_at >= $2 AND $3::text IS NOT NULL
             GROUP BY 1, 2 ORDER BY 1 DESC, 2",
    },
    Question {
        // SQLite has no percentile outside the store's own connections: its scan leaves
        // the p95 out, which flatters the scan.
        name: "daily, 30 d",
        sqlite: "SELECT (created_at / 86400000000) * 86400000000 AS bucket, event_type, geo_country,
                COUNT(*), COUNT(*) FILTER (WHERE success = 1), COUNT(*) FILTER (WHERE success = 0),
                COUNT(DISTINCT user_id), COUNT(DISTINCT ip_address), COUNT(DISTINCT fingerprint),
                AVG(response_time_ms)
             FROM events NOT INDEXED WHERE tenant_id = ?1 AND created_at >= ?2 AND ?3 IS NOT NULL
             GROUP BY bucket, event_type, geo_country",
        postgres: "SELECT date_bin('1 day', created_at, TIMESTAMPTZ 'epoch') AS bucket, event_type,
                geo_country, COUNT(*), COUNT(*) FILTER (WHERE success),
                COUNT(*) FILTER (WHERE NOT success), COUNT(DISTINCT user_id),
                COUNT(DISTINCT ip_address), COUNT(DISTINCT fingerprint), AVG(response_time_ms),
                PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY response_time_ms)
             FROM events WHERE tenant_id = $1 AND created_at >= $2 AND $3::text IS NOT NULL
             GROUP BY 1, 2, 3",
    },
    Question {
        name: "by country, 24 h",
        sqlite: "SELECT geo_country, COUNT(*), COUNT(*) FILTER (WHERE success = 0)
             FROM events NOT INDEXED WHERE tenant_id = ?1 AND created_at >= ?2 AND ?3 IS NOT NULL
             GROUP BY geo_country ORDER BY COUNT(*) DESC",
        postgres: "SELECT geo_country, COUNT(*), COUNT(*) FILTER (WHERE NOT success)
             FROM events WHERE tenant_id = $1 AND created_at >= $2 AND $3::text IS NOT NULL
             GROUP BY geo_country ORDER BY COUNT(*) DESC",
    },
    Question {
        name: "action stats, all time",
        sqlite: "SELECT status, event_subtype, provider, COUNT(*), AVG(response_time_ms)
             FROM events NOT INDEXED
             WHERE tenant_id = ?1 AND event_type = 'ACTION' AND ?2 IS NOT NULL AND ?3 IS NOT NULL
             GROUP BY status, event_subtype, provider",
        postgres: "SELECT status, event_subtype, provider, COUNT(*), AVG(response_time_ms)
             FROM events
             WHERE tenant_id = $1 AND event_type = 'ACTION' AND $2::timestamptz IS NOT NULL
               AND $3::text IS NOT NULL
             GROUP BY status, event_subtype, provider",
    },
    Question {
        name: "/logs by user",
        sqlite: "SELECT * FROM events NOT INDEXED
             WHERE tenant_id = ?1 AND ?2 IS NOT NULL AND user_id = ?3
             ORDER BY created_at DESC, id DESC LIMIT 50",
        postgres: "SELECT * FROM events
             WHERE tenant_id = $1 AND $2::timestamptz IS NOT NULL AND user_id = $3
             ORDER BY created_at DESC, id DESC LIMIT 50",
    },
    Question {
        name: "/logs by IP",
        sqlite: "SELECT * FROM events NOT INDEXED
             WHERE tenant_id = ?1 AND ?2 IS NOT NULL AND ip_address = ?3
             ORDER BY created_at DESC, id DESC LIMIT 50",
        postgres: "SELECT * FROM events
             WHERE tenant_id = $1 AND $2::timestamptz IS NOT NULL AND ip_address = $3::text::inet
             ORDER BY created_at DESC, id DESC LIMIT 50",
    },
    Question {
        name: "/logs by fingerprint",
        sqlite: "SELECT * FROM events NOT INDEXED
             WHERE tenant_id = ?1 AND ?2 IS NOT NULL AND fingerprint = ?3
             ORDER BY created_at DESC, id DESC LIMIT 50",
        postgres: "SELECT * FROM events
             WHERE tenant_id = $1 AND $2::timestamptz IS NOT NULL AND fingerprint = $3
             ORDER BY created_at DESC, id DESC LIMIT 50",
    },
    Question {
        name: "failed auth by IP, 15 min",
        sqlite: "SELECT COUNT(*) FROM events NOT INDEXED
             WHERE tenant_id = ?1 AND created_at >= ?2 AND ip_address = ?3
               AND event_type IN ('AUTH_LOGIN', 'AUTH_FAILURE') AND success = 0",
        postgres: "SELECT COUNT(*) FROM events
             WHERE tenant_id = $1 AND created_at >= $2 AND ip_address = $3::text::inet
               AND event_type IN ('AUTH_LOGIN', 'AUTH_FAILURE') AND success = false",
    },
];

/// The window start and looked-up value each question takes, in [`QUESTIONS`] order.
fn arguments() -> [(chrono::DateTime<Utc>, String); 9] {
    let now = Utc::now();
    let day = now - chrono::Duration::hours(24);
    let user = 42;
    let ip = workload::ip_of(42);
    [
        (day, "-".into()),
        (
            first_bucket(now, chrono::Duration::hours(24), HOUR),
            "-".into(),
        ),
        (
            first_bucket(now, chrono::Duration::days(30), DAY),
            "-".into(),
        ),
        (day, "-".into()),
        (day, "-".into()),
        (day, format!("user-{user:05}")),
        (day, ip.clone()),
        (day, workload::fingerprint_of(user)),
        (now - chrono::Duration::minutes(15), ip),
    ]
}

/// The route's answer to question `index`, through the store as the route calls it.
async fn route(store: &dyn Store, tenant: TenantId, index: usize) -> anyhow::Result<usize> {
    let (since, value) = arguments()[index].clone();
    let list = |filter: EventFilter| EventQuery {
        filter,
        ..EventQuery::default()
    };
    Ok(match index {
        0 => store.summary(tenant, since).await.map(|_| 1)?,
        1 => store.hourly(tenant, since).await?.len(),
        2 => store.daily(tenant, since).await?.len(),
        3 => store.by_country(tenant, since).await?.len(),
        4 => store.action_stats(tenant).await.map(|_| 1)?,
        5..=7 => {
            let mut filter = EventFilter::default();
            match index {
                5 => filter.user_id = Some(value),
                6 => filter.ip = Some(value.parse().map_err(anyhow::Error::msg)?),
                _ => filter.fingerprint = Some(value),
            }
            store.list_events(tenant, &list(filter)).await?.items.len()
        }
        _ => {
            let query = FailedAuthQuery {
                ip: Some(value.parse()?),
                user_id: None,
                fingerprint: None,
                since,
            };
            store.count_failed_auth(tenant, &query).await? as usize
        }
    })
}

/// The operator's tenant, as a first start makes it, and an admin key of it: the HTTP
/// ingest posts into the tenant holding the events (whose index ranges are the full ones),
/// and the console's admin pages need the operator.
async fn operator_with_key(store: &dyn Store) -> anyhow::Result<(TenantId, String)> {
    let tenant = store
        .create_tenant(logbook_server::DEFAULT_TENANT)
        .await?
        .id;
    let key = logbook_server::auth::keys::create(
        store,
        tenant,
        "bench",
        logbook_model::Scopes::all(),
        None,
    )
    .await?
    .secret;
    Ok((tenant, key))
}

fn table_header() {
    println!(
        "  {:<28} {:>12} {:>14} {:>10}",
        "question", "route p50", "raw scan p50", "scan/route"
    );
}

fn table_row(name: &str, route: Duration, scan: Duration) {
    println!(
        "  {name:<28} {:>9.2} ms {:>11.1} ms {:>9.0}x",
        route.as_secs_f64() * 1e3,
        scan.as_secs_f64() * 1e3,
        scan.as_secs_f64() / route.as_secs_f64()
    );
}

async fn sqlite(args: &ScaleArgs, dir: &Path) -> anyhow::Result<()> {
    let path: PathBuf = dir.join("events.db");
    let store = SqliteStore::open(&path, Default::default()).await?;
    let (tenant, key) = operator_with_key(&store).await?;
    println!("\nSQLite (WAL, synchronous=FULL)");
    let loaded = load(&store, tenant, args).await?;
    loaded.print(args.events);
    store.compact_rollups().await?;
    store.maintain().await?;
    let by_user = EventQuery {
        filter: EventFilter {
            user_id: Some(arguments()[5].1.clone()),
            ..Default::default()
        },
        ..EventQuery::default()
    };
    println!(
        "  /logs by user is answered by: {}",
        store.plan_of_list(tenant, &by_user).await?.join("; ")
    );
    let raw = rusqlite::Connection::open_with_flags(
        &path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    raw.pragma_update(None, "mmap_size", 8_i64 << 30)?;
    raw.pragma_update(None, "cache_size", -1_048_576_i64)?;
    if !args.skip_routes {
        table_header();
        for (index, question) in QUESTIONS.iter().enumerate() {
            let route = p50(args.runs, || route(&store, tenant, index)).await?;
            let (since, value) = arguments()[index].clone();
            let scan = p50(args.runs.min(3), || {
                let result = scan_sqlite(&raw, question.sqlite, tenant, since, &value);
                async move { result }
            })
            .await?;
            table_row(question.name, route, scan);
        }
    }
    drop((store, raw));
    if args.pages {
        super::pages::table(StoreLocation::Sqlite(path.clone()), &key, args.runs).await?;
    }
    if args.skip_routes {
        return Ok(());
    }
    http_ingest(dir, &path, key).await
}

/// The server's own ingest (HTTP, group commit) into an empty store, into the full one
/// (as the tenant holding its events), and into an empty one again.
async fn http_ingest(dir: &Path, full: &Path, key: String) -> anyhow::Result<()> {
    let sample = workload::Workload::generate(SAMPLE, REQUEST_EVENTS);
    let empty = |round: usize| StoreLocation::Sqlite(dir.join(format!("empty-{round}.db")));
    // Empty, full, empty: the machine's drift shows as the two empty rounds' difference.
    let before = http::drive(empty(0), &sample, CLIENTS).await?.rate();
    let full = StoreLocation::Sqlite(full.to_owned());
    let loaded = http::drive_as(full, &sample, CLIENTS, Some(key))
        .await?
        .rate();
    let after = http::drive(empty(1), &sample, CLIENTS).await?.rate();
    let empty_rate = (before + after) / 2.0;
    println!(
        "  HTTP ingest, {CLIENTS} clients x {REQUEST_EVENTS} events per request, {SAMPLE} events: \
         into an empty store {empty_rate:.0} events/s ({before:.0} before, {after:.0} after); \
         into the full store {loaded:.0} events/s; full/empty {:.2}",
        loaded / empty_rate
    );
    Ok(())
}

fn scan_sqlite(
    conn: &rusqlite::Connection,
    sql: &str,
    tenant: TenantId,
    since: chrono::DateTime<Utc>,
    value: &str,
) -> anyhow::Result<usize> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(rusqlite::params![tenant.0, since.timestamp_micros(), value])?;
    let mut n = 0;
    while rows.next()?.is_some() {
        n += 1;
    }
    Ok(n)
}

async fn postgres(args: &ScaleArgs, databases: &Databases) -> anyhow::Result<()> {
    let url = databases.fresh("scale").await?;
    let store = PgStore::connect(&url, Default::default()).await?;
    let (tenant, key) = operator_with_key(&store).await?;
    println!(
        "\nPostgreSQL ({})",
        logbook_store::StoreLocation::Postgres(args.database_url.clone()).describe()
    );
    let loaded = load(&store, tenant, args).await?;
    loaded.print(args.events);
    store.compact_rollups().await?;
    let client = store.client().await?;
    client.batch_execute("VACUUM ANALYZE").await?;
    store.maintain().await?;
    if args.pages {
        super::pages::table(StoreLocation::Postgres(url.clone()), &key, args.runs).await?;
    }
    if args.skip_routes {
        return Ok(());
    }
    client
        .batch_execute(
            "SET enable_indexscan = off; SET enable_bitmapscan = off; \
             SET enable_indexonlyscan = off",
        )
        .await?;
    table_header();
    for (index, question) in QUESTIONS.iter().enumerate() {
        let route = p50(args.runs, || route(&store, tenant, index)).await?;
        let (since, value) = arguments()[index].clone();
        let statement = client.prepare(question.postgres).await?;
        let scan = p50(args.runs.min(3), || async {
            let rows = client
                .query(&statement, &[&tenant.0, &since, &value])
                .await?;
            Ok(rows.len())
        })
        .await?;
        table_row(question.name, route, scan);
    }
    Ok(())
}
