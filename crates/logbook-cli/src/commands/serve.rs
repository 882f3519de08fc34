use anyhow::Context;
use logbook_model::pseudonym::{AnonymizeRule, Pseudonymizer};
use logbook_server::{
    Anonymization, App, Config,
    auth::rate_limit::{Rate, RateLimits},
    checkpoints::Checkpointer,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    // The address first: a port in use must fail before any store, key or tenant is made.
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let location = args.store.location()?;
    let described = location.describe();
    let mut config = Config::new(location);
    config.postgres_layout = args.store.postgres_layout;
    if let Some(keys) = args.redact_keys {
        config.redact_keys = keys
            .into_iter()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
    }
    let rate = |per_second: f64| (per_second > 0.0).then_some(Rate { per_second });
    config.rate_limits = RateLimits {
        ingest: rate(args.rate_limit_ingest),
        read: rate(args.rate_limit_read),
        admin: rate(args.rate_limit_admin),
    };
    config.encryption = args.encryption.cipher()?;
    config.ingest.backfill = chrono::Duration::days(args.backfill_days.into());
    let signing = secret_key(&args.store.data_dir, "signing.key", "LOGBOOK_SIGNING_KEY")?;
    let checkpointer = Checkpointer::new(signing, args.store.data_dir.join("checkpoints.ndjson"));
    tracing::info!(
        public_key = checkpointer.public_key(),
        "audit checkpoints are signed with this Ed25519 key"
    );
    config.checkpoints = Some(std::sync::Arc::new(checkpointer));
    config.anonymization = anonymization(args.anonymize, &args.store.data_dir)?;
    config.retention = args.retention.retention(&args.store.data_dir);
    config.alerts = logbook_server::alerts::AlertsConfig {
        smtp_url: args.smtp_url,
        smtp_from: Some(args.smtp_from),
        allow_link_local: args.alerts_allow_link_local,
    };
    config.alerts.check().map_err(anyhow::Error::msg)?;
    let shortest = config
        .retention
        .events
        .first_day_every_type_keeps(chrono::Utc::now());
    if chrono::Utc::now().date_naive() - shortest < config.ingest.backfill {
        tracing::warn!(
            backfill_days = args.backfill_days,
            "the back-fill window is longer than some events are kept: such old events are \
             accepted, then archived and removed at the next upkeep"
        );
    }
    logbook_store::files::warn_if_loose(&[
        args.store.data_dir.join("signing.key"),
        args.store.data_dir.join("pseudonym.key"),
        args.store.data_dir.join("checkpoints.ndjson"),
    ]);
    let app = App::build(config)
        .await
        .with_context(|| format!("cannot open {described}"))?;
    if let Some(secret) = app
        .bootstrap()
        .await
        .context("cannot create the default tenant")?
    {
        println!(
            "Created tenant \"default\" and its admin key. It is shown only this once; store it now:\n\n    {secret}\n"
        );
    }
    tracing::info!(storage = %described, %address, "logbook is listening");
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    app.serve(listener, shutdown)
        .await
        .context("the server failed")?;
    tracing::info!("stopped; every accepted event is stored");
    Ok(())
}

/// The anonymization rules with their pseudonym key; `None` without rules.
pub fn anonymization(
    rules: Vec<AnonymizeRule>,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<Anonymization>> {
    if rules.is_empty() {
        return Ok(None);
    }
    let key = secret_key(data_dir, "pseudonym.key", "LOGBOOK_PSEUDONYM_KEY")?;
    Ok(Some(Anonymization {
        rules,
        pseudonymizer: Pseudonymizer::new(key),
    }))
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing requests and storing what is queued");
    shutdown.cancel();
}

/// A 32-byte secret kept outside the database: from the environment variable (64 hex
/// digits), else from `DATA_DIR/file`, made (readable by this user only) on first use.
/// Back these files up: without the signing key old checkpoints still verify, but
/// without the pseudonym key new pseudonyms no longer match old ones.
/// The key in `variable`, or else in DATA_DIR/`file`; `None` if neither holds one.
pub fn existing_secret_key(
    data_dir: &std::path::Path,
    file: &str,
    variable: &str,
) -> anyhow::Result<Option<[u8; 32]>> {
    if let Ok(hex) = std::env::var(variable) {
        return decode_key(hex.trim())
            .with_context(|| format!("{variable} must be 64 hex digits"))
            .map(Some);
    }
    let path = data_dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(hex) => decode_key(hex.trim())
            .with_context(|| format!("{} must hold 64 hex digits", path.display()))
            .map(Some),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn secret_key(data_dir: &std::path::Path, file: &str, variable: &str) -> anyhow::Result<[u8; 32]> {
    if let Some(key) = existing_secret_key(data_dir, file, variable)? {
        return Ok(key);
    }
    let path = data_dir.join(file);
    let key = logbook_server::auth::keys::random_bytes();
    create_private_dir(data_dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, logbook_model::hex::encode(&key).as_bytes())?;
    tracing::info!(path = %path.display(), "made a new key; back it up");
    Ok(key)
}

fn decode_key(hex: &str) -> anyhow::Result<[u8; 32]> {
    logbook_model::hex::decode_key(hex).ok_or_else(|| anyhow::anyhow!("expected 64 hex digits"))
}

/// The data dir, made readable by this user only (0700) when missing.
fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}
