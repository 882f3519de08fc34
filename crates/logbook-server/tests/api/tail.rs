//! The live tail over HTTP: events arrive after they commit, filtered exactly as `/logs`
//! filters them; a cursor resumes; a client that does not read is told what it missed
//! and holds nobody up; on PostgreSQL a second server's commits arrive too.

use std::time::Duration;

use axum::{
    Router,
    body::Body,
    http::{Request, header},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::{Backend, TestApp, assert_problem};

/// An open event stream (a tail, the alert stream): its body, read message by message.
pub struct Tail {
    body: Body,
    buffer: String,
}

/// One server-sent message: its `event:` (if any), `id:` and `data:`.
#[derive(Debug, Default)]
pub struct Message {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: Value,
}

impl Tail {
    async fn open(router: &Router, key: &str, query: &str) -> Self {
        Self::open_path(router, key, &format!("/api/v1/logs/tail{query}")).await
    }

    pub async fn open_path(router: &Router, key: &str, path: &str) -> Self {
        let request = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        Self {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// The next message that is not a keep-alive comment; panics after 10 s.
    pub async fn next(&mut self) -> Message {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut message = Message::default();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        message.event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("id:") {
                        message.id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        message.data = serde_json::from_str(v.trim()).unwrap();
                    }
                }
                if message.event.is_some() || message.id.is_some() {
                    return message;
                }
                continue;
            }
            let frame = tokio::time::timeout(Duration::from_secs(10), self.body.frame())
                .await
                .expect("a message within 10 s")
                .expect("the stream is open")
                .unwrap();
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(std::str::from_utf8(&bytes).unwrap());
            }
        }
    }

    /// Whether anything but a keep-alive arrives within `wait`.
    async fn quiet_for(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.next()).await.is_err()
    }
}

fn events(kinds: &[(&str, &str)]) -> String {
    let events: Vec<Value> = kinds
        .iter()
        .map(|(t, user)| json!({"event_type": t, "user_id": user, "message": "tail"}))
        .collect();
    json!(events).to_string()
}

pub async fn the_tail_sends_what_commits_as_logs_filters_it(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut failures = Tail::open(&app.router, &app.admin, "?event_type=AUTH_FAILURE").await;
    let mut everything = Tail::open(&app.router, &app.admin, "").await;
    let other = app.tenant_key("globex", "ingest,read").await;
    let mut other_tenant = Tail::open(&app.router, &other, "").await;

    let posted = app
        .post_events(
            &app.admin,
            events(&[
                ("AUTH_FAILURE", "a"),
                ("REQUEST", "b"),
                ("AUTH_FAILURE", "c"),
                ("REQUEST", "d"),
                ("AUTH_FAILURE", "e"),
            ]),
        )
        .await;
    assert_eq!(posted.body["accepted"], 5, "{}", posted.body);

    let mut seen = Vec::new();
    for _ in 0..3 {
        let m = failures.next().await;
        assert_eq!(m.data["event_type"], "AUTH_FAILURE", "{m:?}");
        seen.push(m.data["id"].as_str().unwrap().to_owned());
    }
    // Exactly what /logs answers for the same filter.
    let listed = app
        .get("/api/v1/logs?event_type=AUTH_FAILURE&order=asc", &app.admin)
        .await;
    let mut ids: Vec<String> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    seen.sort();
    assert_eq!(seen, ids);
    for _ in 0..5 {
        everything.next().await;
    }
    assert!(failures.quiet_for(Duration::from_millis(300)).await);
    assert!(
        other_tenant.quiet_for(Duration::from_millis(300)).await,
        "another tenant's tail sees nothing"
    );

    // A cursor resumes after a stored event: the two after the first are sent first.
    let first = app
        .get(
            "/api/v1/logs?event_type=AUTH_FAILURE&order=asc&limit=1",
            &app.admin,
        )
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let mut resumed = Tail::open(
        &app.router,
        &app.admin,
        &format!("?event_type=AUTH_FAILURE&cursor={cursor}"),
    )
    .await;
    for expected in ["c", "e"] {
        assert_eq!(resumed.next().await.data["user_id"], expected);
    }
    app.post_events(&app.admin, events(&[("AUTH_FAILURE", "f")]))
        .await;
    assert_eq!(resumed.next().await.data["user_id"], "f");

    let refused = app.get("/api/v1/logs/tail?order=asc", &app.admin).await;
    assert_problem(&refused, 400, "order");
    let refused = app
        .get("/api/v1/logs/tail?cursor=nonsense", &app.admin)
        .await;
    assert_problem(&refused, 400, "cursor");
}

pub async fn a_tail_that_does_not_read_is_told_what_it_missed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let mut slow = Tail::open(&app.router, &app.admin, "").await;
    let queue = 1000;
    let n = queue + 250;
    let body: Vec<Value> = (0..n)
        .map(|i| json!({"event_type": "REQUEST", "user_id": format!("u{i}")}))
        .collect();
    // Ingest is answered though the tail reads nothing.
    let posted = app.post_events(&app.admin, json!(body).to_string()).await;
    assert_eq!(posted.body["accepted"], n, "{}", posted.body);
    // The fan-out runs beside ingest; a moment lets it meet the full queue. The tail is
    // told what it missed as soon as it reads again, then gets what its queue held.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (mut missed, mut delivered) = (0, Vec::new());
    while delivered.len() as u64 + missed < n as u64 {
        let m = slow.next().await;
        match m.event.as_deref() {
            Some("missed") => missed += m.data["missed"].as_u64().unwrap(),
            _ => delivered.push(m.data["user_id"].as_str().unwrap().to_owned()),
        }
    }
    assert_eq!(missed, 250, "a full queue drops and counts");
    let expected: Vec<String> = (0..queue).map(|i| format!("u{i}")).collect();
    assert_eq!(
        delivered, expected,
        "the queue held its bound, in commit order"
    );
    // Read again, the tail takes new events as they come.
    app.post_events(&app.admin, events(&[("REQUEST", "late")]))
        .await;
    assert_eq!(slow.next().await.data["user_id"], "late");
}

pub async fn a_tail_sees_other_servers_commits(backend: Backend) {
    if backend == Backend::Sqlite {
        return; // One process writes an SQLite store.
    }
    let app = TestApp::start(backend).await;
    let other = logbook_server::App::build(logbook_server::Config::new(app.location.clone()))
        .await
        .unwrap();
    let other_router = other.router();
    let mut tail = Tail::open(&other_router, &app.admin, "?user_id=far").await;
    // The listener connects in the background: commit until the first note arrives.
    let posted = app
        .post_events(
            &app.admin,
            events(&[("REQUEST", "near"), ("REQUEST", "far")]),
        )
        .await;
    assert_eq!(posted.body["accepted"], 2);
    let mut got = None;
    for _ in 0..20 {
        match tokio::time::timeout(Duration::from_millis(500), tail.next()).await {
            Ok(m) => {
                got = Some(m);
                break;
            }
            Err(_) => {
                app.post_events(&app.admin, events(&[("REQUEST", "far")]))
                    .await;
            }
        }
    }
    let got = got.expect("another server's commit reaches this server's tail");
    assert_eq!(got.data["user_id"], "far");
}
