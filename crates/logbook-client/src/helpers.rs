//! Seed 000's LoggingService and seed 004's audit and action helpers, in Rust form.
//! `context` is the request's event as the tower layer builds it (or any event); the
//! helpers copy it and set what each kind of record needs.

use std::{future::Future, time::Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::{Client, Event, transport::Outcome};

/// Whose failed logins to count: any of the identifiers given, combined with AND.
#[derive(Clone, Debug, Default)]
pub struct FailedAuthQuery {
    pub ip: Option<String>,
    pub user_id: Option<String>,
    pub fingerprint: Option<String>,
}

/// An audit event for [`Client::audit`]; see Logbook's `POST /api/v1/audit`.
#[derive(Clone, Debug, Default)]
pub struct AuditEvent(pub Value);

impl Client {
    /// Records `context` as an event of `event_type` (seed 000 recordFromRequest).
    pub fn record_from_request(
        &self,
        context: &Event,
        event_type: &str,
        subtype: Option<&str>,
        success: bool,
    ) {
        let mut event = context
            .clone()
            .set("event_type", json!(event_type))
            .success(success);
        if let Some(subtype) = subtype {
            event = event.event_subtype(subtype);
        }
        self.record(event);
    }

    pub fn record_auth_success(&self, context: &Event, subtype: &str) {
        self.record_from_request(context, "AUTH_LOGIN", Some(subtype), true);
    }

    pub fn record_auth_failure(
        &self,
        context: &Event,
        subtype: &str,
        error_code: Option<&str>,
        message: Option<&str>,
    ) {
        let mut event = context
            .clone()
            .set("event_type", json!("AUTH_FAILURE"))
            .event_subtype(subtype)
            .success(false);
        if let Some(code) = error_code {
            event = event.error_code(code);
        }
        if let Some(message) = message {
            event = event.message(message);
        }
        self.record(event);
    }

    pub fn record_rate_limit_hit(&self, context: &Event, message: Option<&str>) {
        let mut event = context
            .clone()
            .set("event_type", json!("RATE_LIMIT"))
            .success(false);
        if let Some(message) = message {
            event = event.message(message);
        }
        self.record(event);
    }

    /// Failed logins in the last `minutes` (seed 000 getFailedAuthAttempts), for rate
    /// limiting. Asks the server, so it needs a key with the read scope.
    pub async fn failed_auth_attempts(
        &self,
        who: &FailedAuthQuery,
        minutes: u32,
    ) -> Result<i64, String> {
        let mut query = format!("minutes={minutes}");
        for (name, value) in [
            ("ip", &who.ip),
            ("user_id", &who.user_id),
            ("fingerprint", &who.fingerprint),
        ] {
            if let Some(value) = value {
                query.push_str(&format!("&{name}={}", encode(value)));
            }
        }
        let answer = self
            .transport()
            .get_json(&format!("/api/v1/logs/failed-auth?{query}"))
            .await?;
        answer["count"]
            .as_i64()
            .ok_or_else(|| "the answer has no count".into())
    }

    /// Seed 000 getSummary over the last `hours`.
    pub async fn summary(&self, hours: u32) -> Result<Value, String> {
        self.transport()
            .get_json(&format!("/api/v1/logs/summary?hours={hours}"))
            .await
    }

    /// Seed 000 getHourlySummary over the last `hours`.
    pub async fn hourly_summary(&self, hours: u32) -> Result<Value, String> {
        self.transport()
            .get_json(&format!("/api/v1/logs/hourly?hours={hours}"))
            .await
    }

    /// Appends to the audit trail at once (not batched): an audit record should exist
    /// before the change it describes is reported done.
    pub async fn audit(&self, event: AuditEvent) -> Result<(), String> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, event.0.to_string().as_bytes())
            .map_err(|e| e.to_string())?;
        let body = Bytes::from(gz.finish().map_err(|e| e.to_string())?);
        let key = uuid::Uuid::new_v4().to_string();
        for _ in 0..3 {
            match self
                .transport()
                .post("/api/v1/audit", body.clone(), &key, 1)
                .await
            {
                Outcome::Delivered { rejected: 0 } => return Ok(()),
                Outcome::Delivered { .. } => return Err("the audit event was refused".into()),
                Outcome::Refused(reason) | Outcome::Unauthorized(reason) => return Err(reason),
                Outcome::TooLarge => {
                    return Err("the audit event is larger than the server takes".into());
                }
                Outcome::Retry(after) => {
                    tokio::time::sleep(after.unwrap_or(std::time::Duration::from_millis(200))).await
                }
            }
        }
        Err("Logbook did not answer".into())
    }

    /// Seed 004 log_create.
    pub async fn log_create(
        &self,
        resource_type: &str,
        resource_id: &str,
        actor: &str,
        data: Value,
    ) -> Result<(), String> {
        let resource = (resource_type, resource_id);
        self.log_change("create", resource, actor, Value::Null, data)
            .await
    }

    /// Seed 004 log_update; the server computes the field-level changes.
    pub async fn log_update(
        &self,
        resource_type: &str,
        resource_id: &str,
        actor: &str,
        before: Value,
        after: Value,
    ) -> Result<(), String> {
        let resource = (resource_type, resource_id);
        self.log_change("update", resource, actor, before, after)
            .await
    }

    /// Seed 004 log_delete.
    pub async fn log_delete(
        &self,
        resource_type: &str,
        resource_id: &str,
        actor: &str,
        data: Value,
    ) -> Result<(), String> {
        let resource = (resource_type, resource_id);
        self.log_change("delete", resource, actor, data, Value::Null)
            .await
    }

    /// An audit event for a change to one resource; a null side is left out.
    async fn log_change(
        &self,
        action: &str,
        (resource_type, resource_id): (&str, &str),
        actor: &str,
        before: Value,
        after: Value,
    ) -> Result<(), String> {
        let mut event = json!({
            "action": action, "resource_type": resource_type, "resource_id": resource_id,
            "actor_id": actor,
        });
        for (side, value) in [("before", before), ("after", after)] {
            if !value.is_null() {
                event[side] = value;
            }
        }
        self.audit(AuditEvent(event)).await
    }

    /// Runs `operation`, timing it, and records an ACTION event (seed 004 log_action):
    /// the action type, provider, status success or failure, execution time, and the
    /// error's text on failure. Returns the operation's own result.
    pub async fn log_action<T, E: std::fmt::Display>(
        &self,
        action_type: &str,
        provider: &str,
        operation: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = operation.await;
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        let mut event = Event::new("ACTION")
            .event_subtype(action_type)
            .provider(provider)
            .response_time_ms(millis);
        event = match &result {
            Ok(_) => event.status("success").success(true),
            Err(error) => event
                .status("failure")
                .success(false)
                .message(error.to_string()),
        };
        self.record(event);
        result
    }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
