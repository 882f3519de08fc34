use anyhow::{Context, anyhow};
use logbook_model::Scopes;
use logbook_server::auth::keys;

use super::open;
use crate::cli::{KeysCommand, TenantsCommand};

pub async fn tenants(command: TenantsCommand) -> anyhow::Result<()> {
    match command {
        TenantsCommand::Create { name, store } => {
            let name = name.trim();
            if name.is_empty() {
                return Err(anyhow!("a tenant name may not be empty"));
            }
            let tenant = open(&store).await?.create_tenant(name).await?;
            println!("{}", tenant.id);
        }
        TenantsCommand::List { store } => {
            for tenant in open(&store).await?.list_tenants().await? {
                println!(
                    "{}\t{}\t{}",
                    tenant.id,
                    tenant.name,
                    tenant.created_at.to_rfc3339()
                );
            }
        }
    }
    Ok(())
}

pub async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    let KeysCommand::Create {
        scopes,
        tenant,
        name,
        store,
    } = command;
    let scopes: Scopes = scopes.parse().map_err(|e| anyhow!("--scopes: {e}"))?;
    let store = open(&store).await?;
    let tenant = store.tenant_by_name(&tenant).await?.ok_or_else(|| {
        anyhow!("no tenant named {tenant:?} (create it with `logbook tenants create {tenant}`)")
    })?;
    let created = keys::create(store.as_ref(), tenant.id, &name, scopes)
        .await
        .context("cannot create the key")?;
    // The key alone on stdout, so `KEY=$(logbook keys create ...)` works.
    println!("{}", created.secret);
    Ok(())
}
