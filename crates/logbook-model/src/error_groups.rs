//! Errors grouped by what went wrong (seed 001's error log and its instances): the report
//! a client sends, how reports fall into groups, and a group's status workflow.
//!
//! Each occurrence is stored as an ERROR event; the store keeps one group per tenant and
//! fingerprint beside the events, counted in the same transaction.

pub mod grouping;
pub mod report;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use serde_json::Value;

use crate::{Cursor, Event, Severity};

/// The type of the event each occurrence is stored as.
pub const EVENT_TYPE: &str = "ERROR";

/// Where a group stands: seed 001's `error_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorStatus {
    New,
    Acknowledged,
    InProgress,
    Resolved,
    Ignored,
}

impl ErrorStatus {
    pub const ALL: [ErrorStatus; 5] = [
        Self::New,
        Self::Acknowledged,
        Self::InProgress,
        Self::Resolved,
        Self::Ignored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Acknowledged => "acknowledged",
            Self::InProgress => "in-progress",
            Self::Resolved => "resolved",
            Self::Ignored => "ignored",
        }
    }

    /// Still wants someone's attention.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::Acknowledged | Self::InProgress)
    }
}

impl FromStr for ErrorStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                format!("{s:?} is not an error status (new, acknowledged, in-progress, resolved, ignored)")
            })
    }
}

/// What ingest tells the store about one stored ERROR event: enough to count it into
/// its group without reading the event back.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorOccurrence {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The group's key: see [`grouping::fingerprint`].
    pub fingerprint: String,
    pub error_type: String,
    /// The message as stored (redacted, cut to its limit).
    pub message: String,
    pub severity: Severity,
    /// Where it happened: the top in-app frame, else the endpoint.
    pub culprit: Option<String>,
    pub environment: Option<String>,
    pub service: Option<String>,
    pub user_id: Option<String>,
}

/// A culprit as long as the store keeps one (a frame's length): a request path may be
/// longer.
pub fn bounded_culprit(culprit: Option<String>) -> Option<String> {
    culprit.map(|mut c| {
        if let Some((cut, _)) = c.char_indices().nth(report::MAX_FRAME) {
            c.truncate(cut);
        }
        c
    })
}

impl ErrorOccurrence {
    /// A LOG event that records an exception as OpenTelemetry's semantic conventions
    /// spell it (`exception.type`, `exception.message`, `exception.stacktrace` among its
    /// attributes, which Logbook keeps in `metadata`) is an occurrence of its group too;
    /// `None` for any other event.
    pub fn from_log(event: &Event) -> Option<Self> {
        if event.event_type.as_str() != "LOG" {
            return None;
        }
        let metadata = event.metadata.as_ref()?.as_object()?;
        let text = |key: &str| {
            metadata
                .get(key)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
        };
        let (error_type, message) = match (text("exception.type"), text("exception.message")) {
            (None, None) => return None,
            (error_type, message) => (
                error_type.unwrap_or("Exception"),
                message.or(event.message.as_deref()).unwrap_or_default(),
            ),
        };
        let error_type: String = error_type
            .trim()
            .chars()
            .take(report::MAX_ERROR_TYPE)
            .collect();
        let frames = text("exception.stacktrace").map_or_else(Vec::new, grouping::frames_of_trace);
        let resource = &metadata.get("otel").and_then(|o| o.get("resource"));
        let environment = resource
            .and_then(|r| {
                r.get("deployment.environment.name")
                    .or_else(|| r.get("deployment.environment"))
            })
            .and_then(Value::as_str)
            .map(|e| e.chars().take(report::MAX_ENVIRONMENT).collect());
        Some(Self {
            event_id: event.id,
            occurred_at: event.created_at,
            fingerprint: grouping::fingerprint(None, &error_type, message, &frames),
            culprit: bounded_culprit(
                frames
                    .first()
                    .cloned()
                    .or_else(|| event.request_path.clone()),
            ),
            message: message.chars().take(crate::Limits::MESSAGE).collect(),
            error_type,
            severity: event.severity,
            environment,
            service: event.service.clone(),
            user_id: event
                .user_id
                .clone()
                .or_else(|| text("enduser.id").map(str::to_owned)),
        })
    }
}

/// One group, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorGroup {
    pub id: Uuid,
    pub fingerprint: String,
    pub error_type: String,
    pub message: String,
    pub severity: Severity,
    pub culprit: Option<String>,
    pub service: Option<String>,
    pub environments: Vec<String>,
    pub status: ErrorStatus,
    pub occurrence_count: i64,
    pub affected_users: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub assigned_to: Option<String>,
    pub resolution_note: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// When an occurrence last arrived after the group was resolved, reopening it.
    pub regressed_at: Option<DateTime<Utc>>,
    pub times_regressed: i64,
}

/// A change to a group's workflow fields; `None` leaves a field as it is, and an empty
/// text clears it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupChange {
    pub status: Option<ErrorStatus>,
    pub assigned_to: Option<Option<String>>,
    pub resolution_note: Option<Option<String>>,
}

/// How a list of groups is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupOrder {
    /// Most recently seen first, paged by cursor.
    #[default]
    LastSeen,
    /// Most occurrences first (seed 001's "top errors"): one page.
    Occurrences,
}

/// Which groups to list.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupQuery {
    /// Only these statuses; all when empty.
    pub statuses: Vec<ErrorStatus>,
    /// Only groups seen at or after this time.
    pub seen_since: Option<DateTime<Utc>>,
    pub severity: Option<Severity>,
    pub error_type: Option<String>,
    pub order: GroupOrder,
    /// After this group's `(last_seen, id)`, for [`GroupOrder::LastSeen`].
    pub cursor: Option<Cursor>,
    pub limit: u32,
}

/// One page of groups.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupPage {
    pub items: Vec<ErrorGroup>,
    pub next_cursor: Option<String>,
}

impl GroupPage {
    /// A page from rows read one past `limit`: the extra row only says another follows.
    pub fn from_rows(mut rows: Vec<ErrorGroup>, limit: u32, order: GroupOrder) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = match (more, order, rows.last()) {
            (true, GroupOrder::LastSeen, Some(last)) => Some(
                Cursor {
                    created_at: last.last_seen,
                    id: last.id,
                }
                .to_string(),
            ),
            _ => None,
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

/// Seed 001's error trend: one error type on one UTC day.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorTrend {
    pub error_type: String,
    pub day: DateTime<Utc>,
    pub error_count: i64,
    pub affected_users: i64,
}

/// Seed 001's unresolved errors of one severity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnresolvedBySeverity {
    pub severity: Severity,
    pub unresolved_count: i64,
    pub total_occurrences: i64,
    pub total_users_affected: i64,
}

/// The gravest severity first, as seed 001 orders them.
pub fn gravest_first(rows: &mut [UnresolvedBySeverity]) {
    rows.sort_by_key(|row| std::cmp::Reverse(row.severity));
}
