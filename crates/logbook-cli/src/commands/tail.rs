//! `logbook tail`: a running server's live tail, printed as events commit. Reads the
//! server-sent events of `GET /api/v1/logs/tail` and prints each event as `logbook query`
//! does (or as one JSON line); what the server says the tail missed goes to stderr.

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

use super::query::{print_header, print_row};
use crate::cli::TailArgs;

/// The longest message line the tail buffers before giving up on the server.
const MAX_LINE: usize = 8 * 1024 * 1024;

pub async fn run(args: TailArgs) -> anyhow::Result<()> {
    if !args.url.starts_with("http://") {
        bail!("--url must be an http:// address of a Logbook server");
    }
    let url = args.url.trim_end_matches('/');
    let request = http::Request::get(format!("{url}/api/v1/logs/tail{}", query(&args)))
        .header(http::header::AUTHORIZATION, format!("Bearer {}", args.key))
        .header(http::header::ACCEPT, "text/event-stream")
        .body(Empty::<Bytes>::new())
        .context("building the request")?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client
        .request(request)
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let mut body = response.into_body();
    if !status.is_success() {
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let detail = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
        bail!("the server answered {status}: {detail}");
    }
    if !args.json {
        print_header();
    }
    let mut buffer = String::new();
    let mut event_name: Option<String> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.context("the tail's connection failed")?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buffer.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                event_name = None;
            } else if let Some(name) = line.strip_prefix("event:") {
                event_name = Some(name.trim().to_owned());
            } else if let Some(data) = line.strip_prefix("data:") {
                show(event_name.as_deref(), data.trim(), args.json)?;
            }
        }
        if buffer.len() > MAX_LINE {
            bail!("the server sent a line longer than {MAX_LINE} bytes");
        }
    }
    bail!("the server closed the tail (it is stopping)")
}

fn show(event: Option<&str>, data: &str, json: bool) -> anyhow::Result<()> {
    if event == Some("missed") {
        let missed: serde_json::Value = serde_json::from_str(data)?;
        eprintln!(
            "… missed {} events (this terminal read too slowly)",
            missed["missed"]
        );
        return Ok(());
    }
    if json {
        println!("{data}");
    } else {
        // The tenant is the key's, so the server leaves it out; the row is the same.
        let mut event: serde_json::Value = serde_json::from_str(data)
            .map_err(|e| anyhow!("the server sent an event that is not JSON: {e}"))?;
        event["tenant_id"] = serde_json::json!(uuid::Uuid::nil());
        let event: logbook_model::Event = serde_json::from_value(event)
            .map_err(|e| anyhow!("the server sent an event this version cannot read: {e}"))?;
        print_row(&event);
    }
    Ok(())
}

/// The `/logs` filters given, as a query string.
fn query(args: &TailArgs) -> String {
    let pairs = [
        ("event_type", &args.event_type),
        ("event_subtype", &args.event_subtype),
        ("user_id", &args.user_id),
        ("ip", &args.ip),
        ("session_id", &args.session_id),
        ("request_id", &args.request_id),
        ("service", &args.service),
        ("provider", &args.provider),
        ("severity", &args.severity),
        ("success", &args.success),
        ("status_code", &args.status_code),
        ("path", &args.path),
        ("q", &args.q),
        ("cursor", &args.cursor),
    ];
    let encoded: Vec<String> = pairs
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={}", encode(v))))
        .collect();
    if encoded.is_empty() {
        String::new()
    } else {
        format!("?{}", encoded.join("&"))
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
