//! Commit notes: each ingest transaction that stores events announces, per tenant, the
//! span of `created_at` it wrote, with `NOTIFY` (delivered at commit, never before). A
//! server's live tail listens, and reads back what other servers committed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use logbook_model::TenantId;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};
use uuid::Uuid;

use super::db;
use crate::{CommitNote, Result, WriteItem};

const CHANNEL: &str = "logbook_commits";

#[derive(Serialize, Deserialize)]
struct Note {
    /// The tenant.
    t: Uuid,
    /// First and last `created_at` written, in microseconds.
    f: i64,
    l: i64,
    /// The store instance (server) that wrote them.
    o: Uuid,
}

/// One note per tenant among the events, in the ingest transaction.
pub async fn announce(
    tx: &tokio_postgres::Transaction<'_>,
    origin: Uuid,
    stored: &[&WriteItem],
) -> Result<()> {
    let mut spans: std::collections::BTreeMap<Uuid, (i64, i64)> = Default::default();
    for (tenant, e) in stored
        .iter()
        .flat_map(|i| i.events.iter().map(|e| (i.tenant, e)))
    {
        let at = e.created_at.timestamp_micros();
        let span = spans.entry(tenant.0).or_insert((at, at));
        span.0 = span.0.min(at);
        span.1 = span.1.max(at);
    }
    for (tenant, (first, last)) in spans {
        let note = serde_json::to_string(&Note {
            t: tenant,
            f: first,
            l: last,
            o: origin,
        })
        .expect("a note serializes");
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &note])
            .await
            .map_err(db("announcing a commit"))?;
    }
    Ok(())
}

/// Listens on its own connection (reconnecting after a second when it drops) and sends
/// the notes of other instances' commits until the receiver is dropped.
pub fn listen(config: tokio_postgres::Config, origin: Uuid) -> mpsc::Receiver<CommitNote> {
    let (notes, receiver) = mpsc::channel(1024);
    tokio::spawn(async move {
        while !notes.is_closed() {
            if let Err(error) = forward(&config, origin, &notes).await {
                tracing::warn!(%error, "listening for other servers' commits failed; retrying");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    receiver
}

async fn forward(
    config: &tokio_postgres::Config,
    origin: Uuid,
    notes: &mpsc::Sender<CommitNote>,
) -> Result<()> {
    let (client, mut connection) = config
        .connect(NoTls)
        .await
        .map_err(db("connecting to listen for commits"))?;
    let (messages, mut incoming) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if messages.send(n.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "the commit listener's connection failed");
                    return;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(db("listening for commits"))?;
    loop {
        // The receiver gone (the server stopping) ends the listening.
        let payload = tokio::select! {
            _ = notes.closed() => break,
            payload = incoming.recv() => payload,
        };
        let Some(payload) = payload else { break };
        let Ok(note) = serde_json::from_str::<Note>(&payload) else {
            continue;
        };
        if note.o == origin {
            continue;
        }
        let time = |micros| DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default();
        let note = CommitNote {
            tenant: TenantId(note.t),
            first: time(note.f),
            last: time(note.l),
        };
        if notes.send(note).await.is_err() {
            break;
        }
    }
    driver.abort();
    Ok(())
}
