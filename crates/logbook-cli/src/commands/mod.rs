//! One module per command.

mod archive;
pub mod bench;
mod export;
mod keys;
mod maintain;
mod query;
mod serve;
mod tail;

use anyhow::Context;
use logbook_store::OpenMode;

use crate::cli::{Cli, Command, StoreArgs};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Migrate(store) => {
            let location = store.location()?;
            open_with(&store, OpenMode::Create).await?;
            println!("{} is up to date", location.describe());
            Ok(())
        }
        Command::Maintain(args) => maintain::run(args).await,
        Command::Archive(command) => archive::run(command).await,
        Command::Storage { store, retention } => {
            let retention = retention.retention(&store.data_dir);
            let opened = open(&store).await?;
            let report =
                logbook_server::storage::report(&opened, &retention, chrono::Utc::now()).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Tenants(command) => keys::tenants(command).await,
        Command::Keys(command) => keys::keys(command).await,
        Command::Keyring(command) => keys::keyring(command).await,
        Command::Query(args) => query::run(*args).await,
        Command::Tail(args) => tail::run(*args).await,
        Command::Bench(command) => bench::run(command).await,
        Command::Verify {
            files,
            tenant,
            store,
            public_key,
        } => match files.is_empty() {
            false => export::verify(&files, &public_key),
            true => export::verify_store(&store, &tenant).await,
        },
        Command::Export(args) => export::download(args).await,
    }
}

/// Opens an existing store, applying pending migrations; a missing one is an error, so
/// a mistyped --data-dir never leaves an empty database behind.
pub async fn open(store: &StoreArgs) -> anyhow::Result<std::sync::Arc<dyn logbook_store::Store>> {
    open_with(store, OpenMode::Existing).await
}

pub async fn open_with(
    store: &StoreArgs,
    mode: OpenMode,
) -> anyhow::Result<std::sync::Arc<dyn logbook_store::Store>> {
    let location = store.location()?;
    // No request waits on the command line: a long verification may take its time.
    let options = logbook_store::OpenOptions {
        mode,
        read_time_limit: std::time::Duration::from_secs(24 * 3600),
        layout: store.postgres_layout,
        ..Default::default()
    };
    logbook_store::open_with(&location, options)
        .await
        .with_context(|| format!("cannot open {}", location.describe()))
}
