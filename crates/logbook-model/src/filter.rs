//! What a query asks for: filters, order, keyset cursor and page size.

use std::{fmt, net::IpAddr, str::FromStr};

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::Serialize;
use uuid::Uuid;

use crate::{Event, EventType, Severity};

/// An exact address or a CIDR block (`10.0.0.0/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpFilter {
    Addr(IpAddr),
    Net(IpNet),
}

impl FromStr for IpFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.contains('/') {
            let net: IpNet = s
                .parse()
                .map_err(|_| format!("{s:?} is not a CIDR block such as 10.0.0.0/8"))?;
            Ok(Self::Net(canonical_net(net).trunc()))
        } else {
            let ip: IpAddr = s
                .parse()
                .map_err(|_| format!("{s:?} is not an IPv4 or IPv6 address or CIDR block"))?;
            Ok(Self::Addr(ip.to_canonical()))
        }
    }
}

/// An IPv4-mapped IPv6 block (`::ffff:203.0.113.0/120`) is the IPv4 block it maps, as a
/// single mapped address is the IPv4 address: stored addresses are canonical.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        other => other,
    }
}

impl IpFilter {
    pub fn matches(&self, ip: IpAddr) -> bool {
        match self {
            Self::Addr(addr) => *addr == ip,
            Self::Net(net) => net.contains(&ip),
        }
    }
}

/// Conditions on events; every one given must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFilter {
    pub event_type: Option<EventType>,
    pub event_subtype: Option<String>,
    pub user_id: Option<String>,
    pub ip: Option<IpFilter>,
    pub fingerprint: Option<String>,
    pub session_id: Option<String>,
    pub request_id: Option<String>,
    pub service: Option<String>,
    pub success: Option<bool>,
    pub severity: Option<Severity>,
    pub status_code: Option<i16>,
    pub provider: Option<String>,
    /// Any of these statuses (empty: any status).
    pub statuses: Vec<String>,
    /// Prefix of `request_path`, case-sensitive.
    pub path_prefix: Option<String>,
    /// Substring of `message`, case-insensitive.
    pub message_contains: Option<String>,
    /// Inclusive lower bound on `created_at`.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `created_at`.
    pub to: Option<DateTime<Utc>>,
}

impl EventFilter {
    /// Whether a stored event matches, as the store's query would answer: for the live
    /// tail, which filters events as they commit instead of asking the store.
    pub fn matches(&self, e: &Event) -> bool {
        let same = |wanted: &Option<String>, value: &Option<String>| {
            wanted.as_ref().is_none_or(|w| value.as_ref() == Some(w))
        };
        self.event_type.as_ref().is_none_or(|t| *t == e.event_type)
            && same(&self.event_subtype, &e.event_subtype)
            && same(&self.user_id, &e.user_id)
            && self
                .ip
                .is_none_or(|ip| e.ip_address.is_some_and(|a| ip.matches(a)))
            && same(&self.fingerprint, &e.fingerprint)
            && same(&self.session_id, &e.session_id)
            && same(&self.request_id, &e.request_id)
            && same(&self.service, &e.service)
            && same(&self.provider, &e.provider)
            && (self.statuses.is_empty()
                || e.status.as_ref().is_some_and(|s| self.statuses.contains(s)))
            && self.success.is_none_or(|s| s == e.success)
            && self.severity.is_none_or(|s| s == e.severity)
            && self
                .status_code
                .is_none_or(|c| e.response_status_code == Some(c))
            && self.path_prefix.as_ref().is_none_or(|p| {
                e.request_path
                    .as_ref()
                    .is_some_and(|path| path.starts_with(p.as_str()))
            })
            && self.message_contains.as_ref().is_none_or(|q| {
                e.message
                    .as_ref()
                    .is_some_and(|m| m.to_lowercase().contains(&q.to_lowercase()))
            })
            && self.from.is_none_or(|from| e.created_at >= from)
            && self.to.is_none_or(|to| e.created_at < to)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    Asc,
    #[default]
    Desc,
}

impl FromStr for Order {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err(format!("must be asc or desc, got {s:?}")),
        }
    }
}

/// The position after the last event of a page: `(created_at, id)`, the sort key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn after(event: &Event) -> Self {
        Self {
            created_at: event.created_at,
            id: event.id,
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        )
    }
}

impl FromStr for Cursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a cursor from a previous page's next_cursor");
        let (micros, id) = s.split_once('.').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        Ok(Self {
            created_at: DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
            id: Uuid::parse_str(id).map_err(|_| bad())?,
        })
    }
}

pub const MAX_PAGE: u32 = 1000;
pub const DEFAULT_PAGE: u32 = 100;

/// A page request over the filtered events, ordered by `(created_at, id)`.
#[derive(Clone, Debug, PartialEq)]
pub struct EventQuery {
    pub filter: EventFilter,
    pub order: Order,
    pub limit: u32,
    pub cursor: Option<Cursor>,
    pub skip: u64,
}

impl Default for EventQuery {
    fn default() -> Self {
        Self {
            filter: EventFilter::default(),
            order: Order::Desc,
            limit: DEFAULT_PAGE,
            cursor: None,
            skip: 0,
        }
    }
}

/// Rows paged by a keyset: their position is `(time, id)`.
pub trait Keyed {
    fn position(&self) -> Cursor;
}

impl Keyed for Event {
    fn position(&self) -> Cursor {
        Cursor::after(self)
    }
}

/// One page of rows (events unless said otherwise); `next_cursor` is absent on the last.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T = Event> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: Keyed> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only proves there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: u32) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|row| row.position().to_string())
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

/// Seed 000's getFailedAuthAttempts: AUTH_LOGIN or AUTH_FAILURE with success = false since
/// `since`, matching every identifier given (at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedAuthQuery {
    pub ip: Option<IpAddr>,
    pub user_id: Option<String>,
    pub fingerprint: Option<String>,
    pub since: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(cursor.to_string().parse::<Cursor>().unwrap(), cursor);
        assert!("nonsense".parse::<Cursor>().is_err());
    }

    #[test]
    fn ip_filter_takes_addresses_and_blocks() {
        let net: IpFilter = "10.1.2.3/8".parse().unwrap();
        assert!(net.matches("10.200.0.1".parse().unwrap()));
        assert!(!net.matches("11.0.0.1".parse().unwrap()));
        assert_eq!(
            "::ffff:1.2.3.4".parse::<IpFilter>().unwrap(),
            IpFilter::Addr("1.2.3.4".parse().unwrap())
        );
        assert!("1.2.3".parse::<IpFilter>().is_err());
        let mapped: IpFilter = "::ffff:203.0.113.0/120".parse().unwrap();
        assert_eq!(mapped, "203.0.113.0/24".parse().unwrap());
        assert!(mapped.matches("203.0.113.9".parse().unwrap()));
    }
}
