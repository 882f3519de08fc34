use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use logbook_model::{Scopes, TenantId, tenant::check_tenant_name};
use logbook_server::auth::keys;
use uuid::Uuid;

use super::open;
use crate::cli::{KeyringCommand, KeysCommand, TenantsCommand};
use crate::printable::printable;

pub async fn tenants(command: TenantsCommand) -> anyhow::Result<()> {
    match command {
        TenantsCommand::Create { name, store } => {
            let name = name.trim();
            check_tenant_name(name).map_err(|e| anyhow!("{e}"))?;
            let tenant = open(&store).await?.create_tenant(name).await?;
            println!("{}", tenant.id);
        }
        TenantsCommand::List { store } => {
            for tenant in open(&store).await?.list_tenants().await? {
                println!(
                    "{}\t{}\t{}",
                    tenant.id,
                    printable(&tenant.name),
                    tenant.created_at.to_rfc3339()
                );
            }
        }
    }
    Ok(())
}

pub async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            scopes,
            tenant,
            name,
            expires_at,
            store,
        } => {
            let scopes: Scopes = scopes.parse().map_err(|e| anyhow!("--scopes: {e}"))?;
            let expires_at = expires_at
                .map(|at| {
                    DateTime::parse_from_rfc3339(&at)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| anyhow!("--expires-at: {at:?} is not an RFC 3339 time"))
                })
                .transpose()?;
            let store = open(&store).await?;
            let tenant = find_tenant(store.as_ref(), &tenant).await?;
            let created = keys::create(store.as_ref(), tenant, &name, scopes, expires_at)
                .await
                .context("cannot create the key")?;
            // The key alone on stdout, so `KEY=$(logbook keys create ...)` works.
            println!("{}", created.secret);
        }
        KeysCommand::List { tenant, store } => {
            let store = open(&store).await?;
            let tenant = find_tenant(store.as_ref(), &tenant).await?;
            let time = |t: Option<DateTime<Utc>>| t.map_or("-".to_owned(), |t| t.to_rfc3339());
            println!("ID\tNAME\tPREFIX\tSCOPES\tCREATED\tEXPIRES\tREVOKED\tLAST_USED");
            for key in store.list_api_keys(tenant).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    key.id,
                    printable(&key.name),
                    printable(&key.prefix),
                    key.scopes,
                    key.created_at.to_rfc3339(),
                    time(key.expires_at),
                    time(key.revoked_at),
                    time(key.last_used_at)
                );
            }
        }
        KeysCommand::Revoke { id, tenant, store } => {
            let id = Uuid::parse_str(&id)
                .map_err(|_| anyhow!("{id:?} is not a key id (see `logbook keys list`)"))?;
            let store = open(&store).await?;
            let tenant_id = find_tenant(store.as_ref(), &tenant).await?;
            store
                .revoke_api_key(tenant_id, id)
                .await?
                .ok_or_else(|| anyhow!("tenant {tenant:?} has no key {id}"))?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

async fn find_tenant(store: &dyn logbook_store::Store, name: &str) -> anyhow::Result<TenantId> {
    store
        .tenant_by_name(name)
        .await?
        .map(|t| t.id)
        .ok_or_else(|| {
            anyhow!("no tenant named {name:?} (create it with `logbook tenants create {name}`)")
        })
}

pub async fn keyring(command: KeyringCommand) -> anyhow::Result<()> {
    match command {
        KeyringCommand::List { store } => {
            println!("KEY_ID\tADDED\tRETIRED");
            for key in open(&store).await?.keyring().await?.0 {
                println!(
                    "{}\t{}\t{}",
                    printable(&key.key_id),
                    key.added_at.to_rfc3339(),
                    key.retired_at.map_or("-".to_owned(), |t| t.to_rfc3339())
                );
            }
        }
        KeyringCommand::Retire { key_id, at, store } => {
            let at = match at {
                Some(at) => DateTime::parse_from_rfc3339(&at)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| anyhow!("--at: {at:?} is not an RFC 3339 time"))?,
                None => Utc::now(),
            };
            let key_id = key_id.trim().to_ascii_lowercase();
            if !open(&store).await?.retire_signing_key(&key_id, at).await? {
                anyhow::bail!("no trusted key {key_id} (see `logbook keyring list`)");
            }
            println!("retired {key_id} from {}", at.to_rfc3339());
        }
    }
    Ok(())
}
