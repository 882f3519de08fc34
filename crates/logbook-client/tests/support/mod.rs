//! A Logbook stand-in that misbehaves on purpose, and the bookkeeping to count what a
//! client's events became. It stores a batch the way Logbook does — before answering, and
//! once per `Idempotency-Key` — and then answers as its behaviour says: properly, with an
//! error status, or not properly at all (a stalled body, a status line a byte a second, a
//! body without end).

#![allow(dead_code, reason = "each test binary uses its part of the stand-in")]

use std::{
    collections::{HashMap, HashSet},
    io::Read,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use logbook_client::{Client, Counters, Event};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub at: Instant,
    pub key: String,
    pub content_encoding: String,
    /// The events as sent, one JSON text each.
    pub lines: Vec<String>,
    pub ids: Vec<String>,
}

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Store, answer 200 with the accepted count.
    Store,
    /// Store all but the events whose ids are listed, and name those as rejected.
    StoreRejecting(Vec<String>),
    /// Store, take this long, then answer 200.
    StoreSlowly(Duration),
    /// Store, send `200` with `Content-Length: 100`, and then nothing, ever.
    StoreAndStallBody,
    /// Store, then send the answer one byte a second.
    StoreAndDribble,
    /// Store, send `200` and then a chunked body that never ends.
    StoreAndTalkForever,
    /// Do not store; answer this status, with `Retry-After` if given.
    Status(u16, Option<u64>),
}

type Behaviour = dyn Fn(usize, &Attempt) -> Reply + Send + Sync;

#[derive(Default)]
struct Ledger {
    attempts: Vec<Attempt>,
    answers: HashMap<String, String>,
    stored: Vec<String>,
}

pub struct Misbehaving {
    pub address: SocketAddr,
    ledger: Arc<Mutex<Ledger>>,
}

impl Misbehaving {
    /// Serves on `address` (port 0 for any) with `behaviour(attempt number, attempt)`.
    pub async fn start(
        address: SocketAddr,
        behaviour: impl Fn(usize, &Attempt) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind(address).await.expect("bind");
        let address = listener.local_addr().unwrap();
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let behaviour: Arc<Behaviour> = Arc::new(behaviour);
        tokio::spawn({
            let ledger = ledger.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, ledger.clone(), behaviour.clone()));
                }
            }
        });
        Self { address, ledger }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.ledger.lock().unwrap().attempts.clone()
    }

    /// Every stored event's id, as often as it was stored.
    pub fn stored(&self) -> Vec<String> {
        self.ledger.lock().unwrap().stored.clone()
    }
}

async fn serve(mut stream: TcpStream, ledger: Arc<Mutex<Ledger>>, behaviour: Arc<Behaviour>) {
    loop {
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        let lines: Vec<String> = String::from_utf8_lossy(&request.body)
            .lines()
            .map(str::to_owned)
            .collect();
        let attempt = Attempt {
            at: Instant::now(),
            key: request.key,
            content_encoding: request.content_encoding,
            ids: event_ids(&lines),
            lines,
        };
        let reply = {
            let mut ledger = ledger.lock().unwrap();
            ledger.attempts.push(attempt.clone());
            behaviour(ledger.attempts.len() - 1, &attempt)
        };
        let answer = match &reply {
            Reply::Status(code, retry_after) => {
                let retry = retry_after.map_or(String::new(), |s| format!("retry-after: {s}\r\n"));
                let body = r#"{"type":"about:blank","title":"misbehaving"}"#;
                let head = format!(
                    "HTTP/1.1 {code} X\r\ncontent-type: application/problem+json\r\n{retry}content-length: {}\r\n\r\n",
                    body.len()
                );
                if stream.write_all((head + body).as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
            Reply::StoreRejecting(refused) => store(&ledger, &attempt, refused),
            _ => store(&ledger, &attempt, &[]),
        };
        let whole = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        match reply {
            Reply::StoreSlowly(delay) => tokio::time::sleep(delay).await,
            Reply::StoreAndStallBody => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";
                let _ = stream.write_all(head.as_bytes()).await;
                std::future::pending::<()>().await;
            }
            Reply::StoreAndDribble => {
                for byte in whole.as_bytes() {
                    if stream.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
            Reply::StoreAndTalkForever => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                while stream.write_all(chunk.as_bytes()).await.is_ok() {}
                return;
            }
            _ => {}
        }
        if stream.write_all(whole.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Stores the attempt's events once per idempotency key, and gives the answer (the first
/// one again for a key already stored).
fn store(ledger: &Mutex<Ledger>, attempt: &Attempt, refused: &[String]) -> String {
    let mut ledger = ledger.lock().unwrap();
    if let Some(answer) = ledger.answers.get(&attempt.key) {
        return answer.clone();
    }
    let mut accepted = 0;
    let mut rejected = Vec::new();
    for (index, id) in attempt.ids.iter().enumerate() {
        if refused.contains(id) {
            rejected.push(
                serde_json::json!({"index": index, "field": "request_id", "error": "refused"}),
            );
        } else {
            ledger.stored.push(id.clone());
            accepted += 1;
        }
    }
    let answer = serde_json::json!({"accepted": accepted, "rejected": rejected}).to_string();
    ledger.answers.insert(attempt.key.clone(), answer.clone());
    answer
}

struct Received {
    key: String,
    content_encoding: String,
    /// Gunzipped.
    body: Vec<u8>,
}

/// The next request on the connection; `None` when the client went, or sent a body that
/// is not gzip.
async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        if let httparse::Status::Complete(head) = request.parse(&buffer).ok()? {
            let header = |name: &str| {
                request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).into_owned())
            };
            let length: usize = header("content-length")?.parse().ok()?;
            let key = header("idempotency-key").unwrap_or_default();
            let content_encoding = header("content-encoding").unwrap_or_default();
            while buffer.len() < head + length {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            let mut body = Vec::new();
            flate2::read::MultiGzDecoder::new(&buffer[head..head + length])
                .read_to_end(&mut body)
                .ok()?;
            return Some(Received {
                key,
                content_encoding,
                body,
            });
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn event_ids(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|event| event["request_id"].as_str().map(str::to_owned))
        .collect()
}

/// An address nothing listens on.
pub async fn closed_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A fresh, empty directory under the system's temporary one.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "logbook-client-{name}-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Records events `range` with ids `{prefix}-{n}`, and returns those ids.
pub fn record(client: &Client, prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range
        .map(|n| {
            let id = format!("{prefix}-{n}");
            client.record(
                Event::new("REQUEST")
                    .request_id(id.clone())
                    .message("x".repeat(40)),
            );
            id
        })
        .collect()
}

/// What became of the events sent, from both ends.
#[derive(Debug, PartialEq, Eq)]
pub struct Tally {
    pub sent: usize,
    pub delivered: usize,
    pub duplicated: usize,
    /// Counted by the client as lost (dropped), refused (rejected) or unreadable
    /// (quarantined).
    pub counted_lost: u64,
    /// Neither delivered nor counted: must be zero.
    pub unaccounted: i64,
}

pub fn tally(counters: &Counters, server_stored: &[String], sent: &[String]) -> Tally {
    use std::sync::atomic::Ordering::Relaxed;
    let unique: HashSet<&String> = server_stored.iter().collect();
    let counted_lost = counters.dropped.load(Relaxed)
        + counters.rejected.load(Relaxed)
        + counters.quarantined.load(Relaxed);
    let delivered = sent.iter().filter(|id| unique.contains(id)).count();
    Tally {
        sent: sent.len(),
        delivered,
        duplicated: server_stored.len() - unique.len(),
        counted_lost,
        unaccounted: sent.len() as i64 - delivered as i64 - counted_lost as i64,
    }
}

/// Waits for `future`, failing the test if it takes longer than `limit`: "never hangs",
/// with room for a slow machine.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    future: impl std::future::Future<Output = T>,
) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}: the client hangs"))
}

/// How [`answer_reads`] answers every request.
#[derive(Clone)]
pub enum ReadAnswer {
    /// `200`, a JSON body of this text.
    Json(String),
    /// This status, with this text as its body.
    Status(u16, String),
    /// `200`, then a chunked body that never ends.
    Endless,
}

/// A read route that answers every request the same way; its address.
pub async fn answer_reads(answer: ReadAnswer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                match answer {
                    ReadAnswer::Json(body) => answer_whole(&mut stream, 200, &body).await,
                    ReadAnswer::Status(status, body) => {
                        answer_whole(&mut stream, status, &body).await;
                    }
                    ReadAnswer::Endless => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                        let _ = stream.write_all(head.as_bytes()).await;
                        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                        while stream.write_all(chunk.as_bytes()).await.is_ok() {}
                    }
                }
            });
        }
    });
    address
}

async fn answer_whole(stream: &mut TcpStream, status: u16, body: &str) {
    let head = format!(
        "HTTP/1.1 {status} Answer\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
}
