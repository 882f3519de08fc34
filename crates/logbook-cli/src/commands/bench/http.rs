//! Path (a): the release server in this process, driven over loopback by concurrent
//! keep-alive clients posting ready-made JSON bodies.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode, header};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use logbook_server::{App, Config};
use logbook_store::StoreLocation;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{Measured, Stopwatch, workload::Workload};

pub async fn drive(
    location: StoreLocation,
    workload: &Workload,
    clients: usize,
) -> anyhow::Result<Measured> {
    drive_as(location, workload, clients, None).await
}

/// As [`drive`], posting with `key` (a key of a tenant the store already holds) instead of
/// a fresh store's first admin key.
pub async fn drive_as(
    location: StoreLocation,
    workload: &Workload,
    clients: usize,
    key: Option<String>,
) -> anyhow::Result<Measured> {
    let server = Running::start(location, key).await?;
    let measured = server.post_all(workload, clients).await;
    server.stop().await?;
    measured
}

/// The release server in this process on a loopback port.
pub struct Running {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub key: String,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Serves the store; with no key given, the fresh store's first admin key is used.
    pub async fn start(location: StoreLocation, key: Option<String>) -> anyhow::Result<Self> {
        let app = App::build(Config::new(location)).await?;
        let key = match key {
            Some(key) => key,
            None => app
                .bootstrap()
                .await?
                .context("a fresh store gets an admin key")?,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(app.serve(listener, shutdown.clone()));
        Ok(Self {
            base,
            key,
            shutdown,
            server,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.server.await??;
        Ok(())
    }

    /// Posts every body of the workload from `clients` concurrent clients; every event
    /// must be accepted.
    pub async fn post_all(&self, workload: &Workload, clients: usize) -> anyhow::Result<Measured> {
        let uri = format!("{}/api/v1/events", self.base);
        let key = self.key.clone();
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let bodies: Arc<Vec<Bytes>> = Arc::new(
            workload
                .bodies
                .iter()
                .map(|b| Bytes::from(b.clone()))
                .collect(),
        );
        let next = Arc::new(AtomicUsize::new(0));
        let watch = Stopwatch::start();
        let tasks: Vec<_> = (0..clients.max(1))
            .map(|_| {
                let (client, bodies, next, uri, key) = (
                    client.clone(),
                    bodies.clone(),
                    next.clone(),
                    uri.clone(),
                    key.clone(),
                );
                tokio::spawn(async move {
                    let mut accepted = 0usize;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = bodies.get(i) else {
                            return Ok::<_, anyhow::Error>(accepted);
                        };
                        loop {
                            let request = Request::post(&uri)
                                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                                .header(header::CONTENT_TYPE, "application/json")
                                .body(Full::new(body.clone()))?;
                            let response = client.request(request).await?;
                            let status = response.status();
                            let bytes = response.into_body().collect().await?.to_bytes();
                            match status {
                                StatusCode::OK => {
                                    let reply: serde_json::Value = serde_json::from_slice(&bytes)?;
                                    accepted += reply["accepted"].as_u64().unwrap_or(0) as usize;
                                    break;
                                }
                                StatusCode::TOO_MANY_REQUESTS => {
                                    tokio::time::sleep(Duration::from_millis(5)).await
                                }
                                other => bail!(
                                    "ingest answered {other}: {}",
                                    String::from_utf8_lossy(&bytes)
                                ),
                            }
                        }
                    }
                })
            })
            .collect();
        let mut events = 0;
        for task in tasks {
            events += task.await??;
        }
        let measured = watch.stop(events);
        if events != workload.json.len() {
            bail!(
                "HTTP ingest accepted {events} of {} events",
                workload.json.len()
            );
        }
        Ok(measured)
    }
}
