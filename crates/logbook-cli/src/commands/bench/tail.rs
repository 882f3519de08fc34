//! The live tail's cost and speed. Ingest through the server is measured alone and with
//! 20 tail subscribers reading every event (no filter: the most work a subscriber makes),
//! in alternating rounds on fresh PostgreSQL databases; then, with the subscribers still
//! there, single events are posted one at a time and the time from sending each to its
//! arrival on a tail is taken (an upper bound on commit-to-delivery).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, header};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use logbook_store::StoreLocation;

use super::{Measured, http::Running, postgres::Databases, workload::Workload};

pub struct TailBenchArgs {
    pub database_url: String,
    pub events: usize,
    pub batch: usize,
    pub clients: usize,
    pub subscribers: usize,
    pub rounds: usize,
    pub probes: usize,
}

/// What tails of failed logins ask for: 5 % of the workload's events.
const FILTER: &str = "?event_type=AUTH_FAILURE";

/// What the subscribers of one run received and were told they missed.
#[derive(Default)]
struct Heard {
    events: AtomicU64,
    missed: AtomicU64,
}

impl Heard {
    fn print(&self, ratio: f64, name: &str) {
        println!(
            "    the tails received {} events and were told of {} missed; {name} = {ratio:.2}",
            self.events.load(Ordering::Relaxed),
            self.missed.load(Ordering::Relaxed),
        );
    }
}

pub async fn run(args: TailBenchArgs) -> anyhow::Result<()> {
    let workload = Workload::generate(args.events, args.batch);
    println!(
        "Live tail benchmark on PostgreSQL ({}): {} events per run, {} clients x {} events per \
         request; {} rounds of ingest alone (a), with {} tails of every event (b), and with as many tails of failed logins only (c)",
        StoreLocation::Postgres(args.database_url.clone()).describe(),
        args.events,
        args.clients,
        args.batch,
        args.rounds,
        args.subscribers
    );
    let databases = Databases::connect(&args.database_url).await?;
    let (mut every, mut filtered) = (Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let alone = ingest(&args, &databases, &workload, 0, "").await?.0;
        let (all, heard_all) = ingest(&args, &databases, &workload, args.subscribers, "").await?;
        let (some, heard_some) =
            ingest(&args, &databases, &workload, args.subscribers, FILTER).await?;
        databases.drop_all().await;
        println!("  round {round}");
        super::line("(a) HTTP ingest, nobody tailing", &alone);
        let tails = args.subscribers;
        super::line(
            &format!("(b) HTTP ingest, {tails} tails of every event"),
            &all,
        );
        heard_all.print(all.rate() / alone.rate(), "b/a");
        super::line(&format!("(c) HTTP ingest, {tails} tails {FILTER}"), &some);
        heard_some.print(some.rate() / alone.rate(), "c/a");
        every.push(all.rate() / alone.rate());
        filtered.push(some.rate() / alone.rate());
    }
    every.sort_by(f64::total_cmp);
    filtered.sort_by(f64::total_cmp);
    println!(
        "  median b/a = {:.2}   median c/a = {:.2}",
        every[every.len() / 2],
        filtered[filtered.len() / 2]
    );
    let result = latency(&args, &databases).await;
    databases.drop_all().await;
    result
}

async fn fresh(databases: &Databases, purpose: &str) -> anyhow::Result<StoreLocation> {
    let url = databases.fresh(purpose).await?;
    databases.checkpoint().await;
    Ok(StoreLocation::Postgres(url))
}

async fn ingest(
    args: &TailBenchArgs,
    databases: &Databases,
    workload: &Workload,
    subscribers: usize,
    query: &str,
) -> anyhow::Result<(Measured, Arc<Heard>)> {
    let purpose = format!("tail{subscribers}_{}", query.len());
    let server = Running::start(fresh(databases, &purpose).await?, None).await?;
    let heard = Arc::new(Heard::default());
    let tails: Vec<_> = (0..subscribers)
        .map(|_| {
            tokio::spawn(listen(
                server.base.clone(),
                server.key.clone(),
                query.to_owned(),
                heard.clone(),
                None,
            ))
        })
        .collect();
    // Every tail subscribed before the first event is sent.
    wait_for_subscribers(&server, subscribers).await?;
    let measured = server.post_all(workload, args.clients).await?;
    // Counted after the last commits have had time to arrive; the rate is taken above.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.stop().await?;
    for tail in tails {
        tail.abort();
    }
    Ok((measured, heard))
}

/// The server has no count to ask for; a subscriber answers its first keep-alive once
/// subscribed, so a short wait after the requests are sent suffices and is checked by
/// the counts printed.
async fn wait_for_subscribers(_server: &Running, subscribers: usize) -> anyhow::Result<()> {
    if subscribers > 0 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

/// Reads a tail until aborted, counting events and what it is told it missed; with
/// `arrivals`, sends the `user_id` of each event as it arrives.
async fn listen(
    base: String,
    key: String,
    query: String,
    heard: Arc<Heard>,
    arrivals: Option<tokio::sync::mpsc::UnboundedSender<(String, Instant)>>,
) -> anyhow::Result<()> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = Request::get(format!("{base}/api/v1/logs/tail{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Empty::new())?;
    let response = client.request(request).await?;
    if !response.status().is_success() {
        bail!("the tail answered {}", response.status());
    }
    let mut body = response.into_body();
    // Lines are found in the bytes as they come; only what the benchmark needs is
    // parsed, since a client's own work runs on the same cores as the server it measures.
    let mut partial: Vec<u8> = Vec::new();
    let mut missed_next = false;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        partial.extend_from_slice(&data);
        let Some(last) = partial.iter().rposition(|b| *b == b'\n') else {
            continue;
        };
        for line in partial[..last].split(|b| *b == b'\n') {
            if line.starts_with(b"event:") {
                missed_next = line.ends_with(b"missed");
            } else if let Some(data) = line.strip_prefix(b"data:") {
                if std::mem::take(&mut missed_next) {
                    let value: serde_json::Value = serde_json::from_slice(data)?;
                    let n = value["missed"].as_u64().unwrap_or(0);
                    heard.missed.fetch_add(n, Ordering::Relaxed);
                    continue;
                }
                heard.events.fetch_add(1, Ordering::Relaxed);
                if let Some(arrivals) = &arrivals {
                    let value: serde_json::Value = serde_json::from_slice(data)?;
                    let user = value["user_id"].as_str().unwrap_or_default().to_owned();
                    let _ = arrivals.send((user, Instant::now()));
                }
            }
        }
        partial.drain(..=last);
    }
    Ok(())
}

/// With the subscribers reading, one event at a time: from sending it to its arrival.
async fn latency(args: &TailBenchArgs, databases: &Databases) -> anyhow::Result<()> {
    let server = Running::start(fresh(databases, "tail_latency").await?, None).await?;
    let heard = Arc::new(Heard::default());
    let mut tails: Vec<_> = (0..args.subscribers.saturating_sub(1))
        .map(|_| {
            tokio::spawn(listen(
                server.base.clone(),
                server.key.clone(),
                String::new(),
                heard.clone(),
                None,
            ))
        })
        .collect();
    let (arrivals, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    tails.push(tokio::spawn(listen(
        server.base.clone(),
        server.key.clone(),
        "?event_type=PROBE".into(),
        heard.clone(),
        Some(arrivals),
    )));
    wait_for_subscribers(&server, args.subscribers).await?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut waits = Vec::with_capacity(args.probes);
    for i in 0..args.probes {
        let user = format!("probe-{i}");
        let body = serde_json::json!({"event_type": "PROBE", "user_id": user}).to_string();
        let request = Request::post(format!("{}/api/v1/events", server.base))
            .header(header::AUTHORIZATION, format!("Bearer {}", server.key))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))?;
        let sent = Instant::now();
        let response = client.request(request).await?;
        if !response.status().is_success() {
            bail!("ingest answered {}", response.status());
        }
        let (got, at) = tokio::time::timeout(Duration::from_secs(10), arrived.recv())
            .await
            .context("a probe did not arrive on the tail within 10 s")?
            .context("the probe tail ended")?;
        if got != user {
            bail!("the tail sent {got} where {user} was expected");
        }
        waits.push(at - sent);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for tail in tails {
        tail.abort();
    }
    server.stop().await?;
    waits.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\nDelivery with {} tails open, {} events sent one at a time: send to arrival \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target: within 1000 ms of commit)",
        args.subscribers,
        waits.len(),
        ms(waits[waits.len() / 2]),
        ms(waits[waits.len() * 99 / 100]),
        ms(*waits.last().unwrap()),
    );
    Ok(())
}
