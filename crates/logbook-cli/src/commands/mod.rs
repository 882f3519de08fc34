//! One module per command.

pub mod bench;
mod export;
mod keys;
mod query;
mod serve;

use anyhow::Context;

use crate::cli::{Cli, Command, StoreArgs};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Migrate(store) => {
            let location = store.location()?;
            open(&store).await?;
            println!("{} is up to date", location.describe());
            Ok(())
        }
        Command::Tenants(command) => keys::tenants(command).await,
        Command::Keys(command) => keys::keys(command).await,
        Command::Query(args) => query::run(*args).await,
        Command::Bench(command) => bench::run(command).await,
        Command::Verify {
            file: Some(file),
            public_key,
            ..
        } => export::verify(&file, public_key.as_deref()),
        Command::Verify {
            file: None,
            tenant,
            store,
            ..
        } => export::verify_store(&store, &tenant).await,
        Command::Export(args) => export::download(args).await,
    }
}

/// Opens the store, applying pending migrations.
pub async fn open(store: &StoreArgs) -> anyhow::Result<std::sync::Arc<dyn logbook_store::Store>> {
    let location = store.location()?;
    logbook_store::open(&location)
        .await
        .with_context(|| format!("cannot open {}", location.describe()))
}
