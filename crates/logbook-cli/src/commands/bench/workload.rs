//! The generated events: a realistic mix of ~500-byte rows, the same for every path.

use chrono::Utc;
use logbook_model::{Event, EventParser, TenantId};
use serde_json::{Value, json};

pub const IPS: usize = 1000;
pub const USERS: usize = 5000;

pub struct Workload {
    /// Each event's JSON, in order.
    pub json: Vec<String>,
    /// Ready HTTP bodies: JSON arrays of `batch` events.
    pub bodies: Vec<String>,
}

/// xorshift64*: deterministic, so every run measures the same rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
];
const PLACES: [(&str, &str, &str, &str); 4] = [
    ("US", "CA", "San Francisco", "America/Los_Angeles"),
    ("DE", "BE", "Berlin", "Europe/Berlin"),
    ("BR", "SP", "Sao Paulo", "America/Sao_Paulo"),
    ("JP", "13", "Tokyo", "Asia/Tokyo"),
];
const PATHS: [&str; 5] = [
    "/api/v1/items",
    "/api/v1/orders",
    "/api/v1/users/me",
    "/api/v1/search",
    "/api/v1/cart",
];
const OTHER: [&str; 5] = [
    "RATE_LIMIT",
    "OTP_SENT",
    "AUTH_LOGOUT",
    "SECURITY_ALERT",
    "ACTION",
];
const PROVIDERS: [&str; 3] = ["stripe", "sendgrid", "twilio"];
const STATUSES: [&str; 3] = ["success", "failure", "timeout"];

/// A user's device fingerprint in the generated events.
pub fn fingerprint_of(user: usize) -> String {
    format!("{:016x}{:016x}", user as u64 * 7919, user as u64 * 104_729)
}

/// The `i`th of the generated events' IP addresses.
pub fn ip_of(i: usize) -> String {
    format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256)
}

/// The same mix spread evenly over `span` up to now, oldest first, made a chunk at a time
/// so ten million events never sit in memory together.
pub struct Stream {
    rng: Rng,
    parser: EventParser,
    tenant: TenantId,
    start: chrono::DateTime<Utc>,
    step_micros: i64,
    made: usize,
    total: usize,
}

impl Stream {
    /// `total` events spread evenly over the `span` before `end`.
    pub fn new(
        tenant: TenantId,
        total: usize,
        end: chrono::DateTime<Utc>,
        span: chrono::Duration,
    ) -> Self {
        Self {
            rng: Rng(0x9e37_79b9_7f4a_7c15),
            parser: EventParser::default().with_backfill(span + chrono::Duration::days(1)),
            tenant,
            start: end - span,
            step_micros: span.num_microseconds().unwrap_or(i64::MAX) / total.max(1) as i64,
            made: 0,
            total,
        }
    }

    /// Up to `n` more events; empty when all are made.
    pub fn next_chunk(&mut self, n: usize) -> Vec<Event> {
        let now = Utc::now();
        let take = n.min(self.total - self.made);
        let chunk = (0..take)
            .map(|i| {
                let mut event = one(&mut self.rng);
                let at = self.start
                    + chrono::Duration::microseconds(self.step_micros * (self.made + i) as i64);
                event["created_at"] =
                    json!(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
                // Parsed as if received at its own time when that lies ahead.
                self.parser
                    .parse_json(self.tenant, &event.to_string(), now.max(at))
                    .expect("generated events are valid")
            })
            .collect();
        self.made += take;
        chunk
    }
}

impl Workload {
    pub fn generate(events: usize, batch: usize) -> Self {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Every row carries its own time, spread over the last hour as an application's
        // clock would stamp them: identical times would let PostgreSQL's B-tree
        // deduplication shrink the time-led indexes and flatter whichever path got them.
        let start = Utc::now() - chrono::Duration::hours(1);
        let step = 3_600_000_000 / events.max(1) as i64;
        let json: Vec<String> = (0..events)
            .map(|i| {
                let mut event = one(&mut rng);
                let at = start + chrono::Duration::microseconds(step * i as i64);
                event["created_at"] =
                    json!(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
                event.to_string()
            })
            .collect();
        let bodies = json
            .chunks(batch.max(1))
            .map(|chunk| format!("[{}]", chunk.join(",")))
            .collect();
        Self { json, bodies }
    }

    pub fn mean_json_bytes(&self) -> usize {
        self.json.iter().map(String::len).sum::<usize>() / self.json.len().max(1)
    }

    /// The same events, parsed as the server would, for the paths that skip HTTP.
    pub fn events(&self, tenant: TenantId) -> Vec<Event> {
        let parser = EventParser::default();
        let now = Utc::now();
        self.json
            .iter()
            .map(|raw| {
                parser
                    .parse_json(tenant, raw, now)
                    .expect("generated events are valid")
            })
            .collect()
    }
}

fn one(rng: &mut Rng) -> Value {
    let user = rng.below(USERS);
    let ip = rng.below(IPS);
    let (country, region, city, zone) = PLACES[user % PLACES.len()];
    let roll = rng.below(100);
    let event_type = match roll {
        0..80 => "REQUEST",
        80..90 => "AUTH_LOGIN",
        90..95 => "AUTH_FAILURE",
        _ => OTHER[rng.below(OTHER.len())],
    };
    let success =
        !(event_type == "AUTH_FAILURE" || event_type == "RATE_LIMIT" || rng.below(20) == 0);
    let mut event = json!({
        "event_type": event_type,
        "user_id": format!("user-{user:05}"),
        "fingerprint": fingerprint_of(user),
        "ip_address": ip_of(ip),
        "user_agent": AGENTS[user % AGENTS.len()],
        "http_method": if rng.below(4) == 0 { "POST" } else { "GET" },
        "request_path": format!("{}/{}", PATHS[rng.below(PATHS.len())], rng.below(100_000)),
        "request_params": {"page": rng.below(20).to_string(), "sort": "created_at"},
        "response_status_code": if success { 200 } else { 401 },
        "response_time_ms": 5 + rng.below(400),
        "geo_country": country,
        "geo_region": region,
        "geo_city": city,
        "geo_timezone": zone,
        "session_id": format!("{:016x}{:016x}", rng.next(), rng.next()),
        "origin": "https://app.example.com",
        "referrer": format!("https://app.example.com/dashboard?tab={}", rng.below(12)),
        "device_id": format!("device-{:08x}-{:04x}", user as u64 * 2_654_435_761 % 0xffff_ffff, user % 0xffff),
        "success": success,
        "service": "api",
    });
    if event_type.starts_with("AUTH") {
        event["event_subtype"] = json!("password");
        event["request_body_summary"] =
            json!({"email": format!("user{user}@example.com"), "password": "hunter2"});
    }
    if event_type == "ACTION" {
        event["event_subtype"] = json!("notify");
        event["provider"] = json!(PROVIDERS[user % PROVIDERS.len()]);
        event["status"] = json!(STATUSES[rng.below(STATUSES.len())]);
    }
    if !success {
        event["message"] = json!("Invalid credentials");
        event["error_code"] = json!("AUTH_INVALID");
    }
    event
}
