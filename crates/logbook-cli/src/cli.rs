//! The command line: every flag, with its environment variable where it has one.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use logbook_store::StoreLocation;

/// Logbook: a self-hosted event log and audit-trail server.
#[derive(Debug, Parser)]
#[command(name = "logbook", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (applies pending migrations first).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate(StoreArgs),
    /// Run the periodic upkeep once (day partitions, planner statistics, retention when
    /// --retention-days is given, idempotency purge, anonymization), print what each job
    /// did, and exit; for cron, or before a server starts. Running servers do the same
    /// every quarter hour.
    Maintain(MaintainArgs),
    /// What the store holds and takes on disk: rows and bytes by stream and day, growth,
    /// what retention removes next, the archive, indexes never used. JSON.
    Storage {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        retention: RetentionArgs,
    },
    /// Archives of events past their retention: list them, or bring one back.
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Manage tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The keys trusted to sign audit checkpoints (every server adds its own at start).
    #[command(subcommand)]
    Keyring(KeyringCommand),
    /// Query stored events, as a table or JSON.
    Query(Box<QueryArgs>),
    /// Follow a running server's events as they commit (its live tail), with /logs filters.
    Tail(Box<TailArgs>),
    /// Verify an audit trail: an export file offline, or a tenant's chain in the store.
    Verify {
        /// Files from `logbook export audit` (or GET /api/v1/audit/export), or archives
        /// of the audit trail (`audit.ndjson.zst`), verified as one run in seq order;
        /// without any, the tenant's chain is verified in the store, against the
        /// checkpoints signed with DATA_DIR/signing.key.
        files: Vec<PathBuf>,
        /// The tenant whose chain to verify in the store.
        #[arg(long, default_value = "default")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// A trusted signing key's public half (hex), from a channel you trust; give one
        /// per server key (comma-separated or repeated). Without it the keys named in the
        /// file are used, which proves only that the file agrees with itself.
        #[arg(long, value_delimiter = ',')]
        public_key: Vec<String>,
    },
    /// Download an export from a running server into a file, showing progress.
    Export(ExportArgs),
    /// Run a benchmark and print its figures.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// Where the data lives; the same flags for every command that opens storage.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// `sqlite:PATH` or `postgres://USER@HOST/DB` (TIMESCALE_URI is read too). Default:
    /// SQLite under the data dir.
    #[arg(long, env = "LOGBOOK_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory for the embedded SQLite database.
    #[arg(long, env = "LOGBOOK_DATA_DIR", default_value = "./logbook-data")]
    pub data_dir: PathBuf,
    /// How a new PostgreSQL store lays out events: auto (a TimescaleDB hypertable when
    /// the extension is available, else day partitions), hypertable, or partitions. An
    /// existing store keeps the layout it was made with.
    #[arg(long, env = "LOGBOOK_POSTGRES_LAYOUT", default_value = "auto")]
    pub postgres_layout: logbook_store::postgres::LayoutChoice,
}

impl StoreArgs {
    pub fn location(&self) -> anyhow::Result<StoreLocation> {
        let url = self
            .database_url
            .clone()
            .or_else(|| std::env::var("TIMESCALE_URI").ok());
        Ok(StoreLocation::resolve(url.as_deref(), &self.data_dir)?)
    }
}

/// Field-level encryption at rest.
#[derive(Debug, Args)]
pub struct EncryptionArgs {
    /// Fields to encrypt at rest (comma-separated): message, or paths inside metadata,
    /// request_params or request_body_summary, e.g. metadata.patient.mrn. The keys come
    /// from LOGBOOK_ENCRYPTION_KEY or --encryption-key-file: ID:64-HEX-DIGITS[,ID:…],
    /// the first sealing, all opening (for rotation).
    #[arg(long, env = "LOGBOOK_ENCRYPT_FIELDS", value_delimiter = ',')]
    pub encrypt_fields: Vec<String>,
    /// A file holding the encryption keys (instead of LOGBOOK_ENCRYPTION_KEY).
    #[arg(long, env = "LOGBOOK_ENCRYPTION_KEY_FILE")]
    pub encryption_key_file: Option<PathBuf>,
}

impl EncryptionArgs {
    pub fn cipher(
        &self,
    ) -> anyhow::Result<Option<std::sync::Arc<logbook_server::encryption::FieldCipher>>> {
        use anyhow::{Context, anyhow};
        if self.encrypt_fields.is_empty() {
            return Ok(None);
        }
        let keys = match (
            &self.encryption_key_file,
            std::env::var("LOGBOOK_ENCRYPTION_KEY"),
        ) {
            (Some(path), _) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
            (None, Ok(keys)) => keys,
            (None, Err(_)) => {
                return Err(anyhow!(
                    "--encrypt-fields needs keys: set LOGBOOK_ENCRYPTION_KEY or --encryption-key-file"
                ));
            }
        };
        let keyring = keys
            .trim()
            .parse()
            .map_err(|e| anyhow!("encryption keys: {e}"))?;
        let fields = self
            .encrypt_fields
            .iter()
            .map(|f| {
                f.trim()
                    .parse()
                    .map_err(|e| anyhow!("--encrypt-fields: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Some(std::sync::Arc::new(
            logbook_server::encryption::FieldCipher::new(keyring, fields),
        )))
    }
}

/// How long events are kept, and where they go first.
#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Days events are kept (default 90); older ones are archived, then removed.
    /// `maintain` removes nothing unless it is given, so a cron job never applies other
    /// periods than the server's.
    #[arg(long, env = "LOGBOOK_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub retention_days: Option<u32>,
    /// Other periods for some event types: EVENT_TYPE=DAYS, comma-separated (e.g.
    /// REQUEST=30,AUTH_FAILURE=365).
    #[arg(long, env = "LOGBOOK_RETENTION", value_delimiter = ',')]
    pub retention: Vec<logbook_model::retention::TypeDays>,
    /// Days the audit trail is kept (default 2555, seven years). Older events are
    /// archived, then cut from the chain at a signed checkpoint; verification starts
    /// after the cut.
    #[arg(long, env = "LOGBOOK_AUDIT_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub audit_retention_days: Option<u32>,
    /// Days access records are kept (default 2555, seven years); older ones are archived,
    /// then removed.
    #[arg(long, env = "LOGBOOK_ACCESS_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub access_retention_days: Option<u32>,
    /// Where events past their time are archived before removal (default: DATA_DIR/archive).
    #[arg(long, env = "LOGBOOK_ARCHIVE_DIR")]
    pub archive_dir: Option<PathBuf>,
}

impl RetentionArgs {
    pub fn retention(&self, data_dir: &std::path::Path) -> logbook_server::Retention {
        logbook_server::Retention {
            events: logbook_model::retention::EventRetention {
                days: self
                    .retention_days
                    .unwrap_or(logbook_model::retention::EventRetention::DEFAULT_DAYS),
                by_type: self.retention.clone(),
            },
            audit_days: self
                .audit_retention_days
                .unwrap_or(logbook_model::retention::AUDIT_DAYS),
            access_days: self
                .access_retention_days
                .unwrap_or(logbook_model::retention::AUDIT_DAYS),
            archive: logbook_store::archive::ArchiveDir::new(
                self.archive_dir
                    .clone()
                    .unwrap_or_else(|| data_dir.join("archive")),
            ),
        }
    }
}

#[derive(Debug, Args)]
pub struct MaintainArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Anonymize events of a type once they are this many days old, as `serve` does.
    #[arg(long, env = "LOGBOOK_ANONYMIZE", value_delimiter = ',')]
    pub anonymize: Vec<logbook_model::pseudonym::AnonymizeRule>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub encryption: EncryptionArgs,
    #[command(flatten)]
    pub retention: RetentionArgs,
    /// Address to listen on: HOST:PORT, the host a name (localhost) or an address.
    #[arg(long, env = "LOGBOOK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The SMTP relay alert e-mail leaves through: smtp://[USER:PASSWORD@]HOST[:PORT]
    /// (STARTTLS when the relay offers it) or smtps://… (TLS from the start). Without it,
    /// e-mail channels fail. Kept out of logs.
    #[arg(long, env = "LOGBOOK_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of alert e-mail.
    #[arg(long, env = "LOGBOOK_SMTP_FROM", default_value = logbook_server::alerts::DEFAULT_FROM)]
    pub smtp_from: String,
    /// Let alert webhooks reach link-local and cloud metadata addresses (refused by default).
    #[arg(long, env = "LOGBOOK_ALERTS_ALLOW_LINK_LOCAL")]
    pub alerts_allow_link_local: bool,
    /// Object keys whose values are stored as "[REDACTED]" (comma-separated; replaces the
    /// default list: password, passwd, secret, token, authorization, cookie, api_key, ssn,
    /// card_number).
    #[arg(long, env = "LOGBOOK_REDACT_KEYS", value_delimiter = ',')]
    pub redact_keys: Option<Vec<String>>,
    /// Anonymize events of a type once they are this many days old: EVENT_TYPE=DAYS,
    /// comma-separated (e.g. ACTIVITY=30). Off by default. The pseudonym key comes from
    /// LOGBOOK_PSEUDONYM_KEY (64 hex digits) or DATA_DIR/pseudonym.key, made if missing.
    #[arg(long, env = "LOGBOOK_ANONYMIZE", value_delimiter = ',')]
    pub anonymize: Vec<logbook_model::pseudonym::AnonymizeRule>,
    /// How many days in the past an event's created_at may lie; older events are refused.
    #[arg(long, env = "LOGBOOK_BACKFILL_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub backfill_days: u32,
    /// Ingest requests per second per key (bursts of twice that); 0 for no limit.
    #[arg(long, env = "LOGBOOK_RATE_LIMIT_INGEST", default_value_t = 1000.0)]
    pub rate_limit_ingest: f64,
    /// Read requests per second per key; 0 for no limit.
    #[arg(long, env = "LOGBOOK_RATE_LIMIT_READ", default_value_t = 100.0)]
    pub rate_limit_read: f64,
    /// Admin requests per second per key; 0 for no limit.
    #[arg(long, env = "LOGBOOK_RATE_LIMIT_ADMIN", default_value_t = 10.0)]
    pub rate_limit_admin: f64,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Every archive file: tenant, day, event type, events, and the file.
    List {
        /// The archive directory (default: DATA_DIR/archive).
        #[arg(long, env = "LOGBOOK_ARCHIVE_DIR")]
        archive_dir: Option<PathBuf>,
        #[arg(long, env = "LOGBOOK_DATA_DIR", default_value = "./logbook-data")]
        data_dir: PathBuf,
    },
    /// Stores an archive file's events again (its checksum checked first); events
    /// already in the store are left as they are, so a second restore adds nothing.
    /// Restored events past their retention are removed again by the next upkeep:
    /// restore into another database (--database-url) to keep them.
    Restore {
        /// The archive's data file or its manifest.
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Create a tenant; prints its id.
    Create {
        /// A unique name, e.g. the application's.
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; prints the key alone on stdout (shown only this once).
    Create {
        /// Comma-separated: ingest, read, admin.
        #[arg(long)]
        scopes: String,
        /// The tenant the key belongs to.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// A label to tell keys apart.
        #[arg(long, default_value = "cli")]
        name: String,
        /// When the key stops working (RFC 3339); by default it does not expire.
        #[arg(long)]
        expires_at: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List a tenant's keys (never their secrets).
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key by id; it stops working within a minute on every server.
    Revoke {
        id: String,
        #[arg(long, default_value = "default")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyringCommand {
    /// List the trusted signing keys.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Retire a key (after rotating to a new one, or when one may have leaked): what it
    /// signed before `--at` still verifies, nothing it signs afterwards does.
    Retire {
        /// The key's public half, hex (its key_id).
        key_id: String,
        /// From when it is no longer trusted (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub encryption: EncryptionArgs,
    /// The tenant to read.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    #[arg(long)]
    pub event_type: Option<String>,
    #[arg(long)]
    pub event_subtype: Option<String>,
    #[arg(long)]
    pub user_id: Option<String>,
    /// An address or CIDR block.
    #[arg(long)]
    pub ip: Option<String>,
    #[arg(long)]
    pub fingerprint: Option<String>,
    #[arg(long)]
    pub session_id: Option<String>,
    #[arg(long)]
    pub request_id: Option<String>,
    #[arg(long)]
    pub service: Option<String>,
    #[arg(long)]
    pub success: Option<bool>,
    #[arg(long)]
    pub severity: Option<String>,
    #[arg(long)]
    pub status_code: Option<i16>,
    /// Prefix of the request path.
    #[arg(long)]
    pub path: Option<String>,
    /// Text the message contains (any case).
    #[arg(long)]
    pub q: Option<String>,
    /// RFC 3339 time, inclusive.
    #[arg(long)]
    pub from: Option<String>,
    /// RFC 3339 time, exclusive.
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// asc or desc.
    #[arg(long, default_value = "desc")]
    pub order: String,
    /// Print JSON (one page, with next_cursor) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// The server's address.
    #[arg(long, env = "LOGBOOK_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An API key with the read scope.
    #[arg(long, env = "LOGBOOK_API_KEY", hide_env_values = true)]
    pub key: String,
    #[arg(long)]
    pub event_type: Option<String>,
    #[arg(long)]
    pub event_subtype: Option<String>,
    #[arg(long)]
    pub user_id: Option<String>,
    /// An address or CIDR block.
    #[arg(long)]
    pub ip: Option<String>,
    #[arg(long)]
    pub session_id: Option<String>,
    #[arg(long)]
    pub request_id: Option<String>,
    #[arg(long)]
    pub service: Option<String>,
    #[arg(long)]
    pub provider: Option<String>,
    #[arg(long)]
    pub severity: Option<String>,
    /// true or false.
    #[arg(long)]
    pub success: Option<String>,
    #[arg(long)]
    pub status_code: Option<String>,
    /// Prefix of the request path.
    #[arg(long)]
    pub path: Option<String>,
    /// Text the message contains (any case).
    #[arg(long)]
    pub q: Option<String>,
    /// Start after this stored event (a /logs cursor): what followed it is printed first.
    #[arg(long)]
    pub cursor: Option<String>,
    /// Print each event as one JSON line instead of a table row.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The live tail: ingest with and without subscribers, and send-to-arrival time.
    Tail {
        /// Events per ingest run.
        #[arg(long, default_value_t = 200_000)]
        events: usize,
        /// Tails open during the runs.
        #[arg(long, default_value_t = 20)]
        subscribers: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Events sent one at a time to time their delivery.
        #[arg(long, default_value_t = 200)]
        probes: usize,
        #[arg(
            long,
            env = "LOGBOOK_BENCH_DATABASE_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        database_url: String,
    },
    /// Ingest throughput: HTTP ingest vs raw binary COPY vs one INSERT per event.
    Ingest(crate::commands::bench::IngestBenchArgs),
    /// The client's tower layer: the latency it adds to a request, with Logbook reachable
    /// and unreachable.
    Layer {
        #[arg(long, default_value_t = 200_000)]
        requests: usize,
    },
    /// Bytes per event on disk: stored on SQLite and PostgreSQL, and archived.
    Storage {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// PostgreSQL server to create the benchmark database on.
        #[arg(
            long,
            env = "LOGBOOK_BENCH_DATABASE_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        database_url: String,
        /// A TimescaleDB to measure a compressed hypertable on too (an empty database;
        /// the PGlite harness of scripts/timescaledb will do).
        #[arg(long)]
        timescaledb_url: Option<String>,
    },
    /// Read routes at scale: loads events over many days into SQLite and PostgreSQL and
    /// prints each dashboard and lookup route's p50 beside a scan of the events table.
    Scale {
        #[arg(long, default_value_t = 10_000_000)]
        events: usize,
        /// Days the events are spread over, ending now.
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// End the load at the end of today (UTC) instead of now, so today's part of
        /// SQLite's day-led indexes holds a whole day when the HTTP sample arrives: the
        /// worst hour for ingest into the full store.
        #[arg(long)]
        full_day: bool,
        /// Timed runs per route (the table scans run at most 3 times).
        #[arg(long, default_value_t = 21)]
        runs: usize,
        /// PostgreSQL server to create the benchmark database on.
        #[arg(
            long,
            env = "LOGBOOK_BENCH_DATABASE_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        database_url: String,
        #[arg(long)]
        skip_sqlite: bool,
        #[arg(long)]
        skip_postgres: bool,
        /// Also time each console page (signed in, through the router) beside the API
        /// requests it makes.
        #[arg(long)]
        pages: bool,
        /// Leave out the read routes' table, their scans and the HTTP ingest comparison.
        #[arg(long)]
        skip_routes: bool,
    },
    /// Parsing alone: the server's CPU per event before storage, on one core.
    Parse {
        #[arg(long, default_value_t = 200_000)]
        events: usize,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export: audit (the chain with its checkpoints) or events.
    #[arg(value_parser = ["audit", "events"])]
    pub what: String,
    /// The file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// ndjson or csv (an offline-verifiable audit export is ndjson).
    #[arg(long, default_value = "ndjson", value_parser = ["ndjson", "csv"])]
    pub format: String,
    /// The server.
    #[arg(long, env = "LOGBOOK_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A read key.
    #[arg(long, env = "LOGBOOK_KEY", hide_env_values = true)]
    pub key: String,
}
