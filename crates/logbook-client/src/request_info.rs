//! What a request says about its caller, and the REQUEST event made of it: the one
//! recipe behind the axum layer and the actix-web middleware.

use std::{net::IpAddr, sync::Arc, time::Instant};

use serde_json::json;

use crate::{Client, Event};

/// Who made the request, for its event: put it in the request's extensions (from an
/// auth middleware that runs first) or, with axum, the response's.
#[derive(Clone, Debug, Default)]
pub struct RequestUser {
    pub user_id: Option<String>,
    pub session_id: Option<String>,
}

/// What a framework adapter knows of a request before its handler runs.
pub(crate) struct RequestHead<'a, H: Fn(&str) -> Option<&'a str>> {
    pub method: &'a str,
    pub path: &'a str,
    pub route: Option<&'a str>,
    pub peer: Option<IpAddr>,
    /// A header's value by its lowercase name.
    pub header: H,
}

/// The adapters' shared settings and their event recipe.
#[derive(Clone)]
pub(crate) struct RequestRecorder {
    pub client: Client,
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    pub service: Option<Arc<str>>,
}

impl RequestRecorder {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            trusted_proxies: Arc::default(),
            service: None,
        }
    }

    /// The REQUEST event as far as the request alone tells it.
    pub fn start<'a>(&self, head: RequestHead<'a, impl Fn(&str) -> Option<&'a str>>) -> Event {
        let mut event = Event::new("REQUEST")
            .http_method(head.method)
            .request_path(head.path);
        if let Some(route) = head.route {
            event = event.metadata(json!({"route": route}));
        }
        let forwarded = (head.header)("x-forwarded-for").unwrap_or("");
        if let Some(ip) = client_ip(head.peer, forwarded, &self.trusted_proxies) {
            event = event.ip(ip);
        }
        for (header, field) in HEADER_FIELDS {
            if let Some(value) = (head.header)(header) {
                event = event.set(field, json!(value));
            }
        }
        if let Some(service) = &self.service {
            event = event.service(service.as_ref());
        }
        event
    }

    /// Completes the event with the response's status and the caller, and sends it.
    pub fn finish(&self, event: Event, started: Instant, status: u16, user: Option<RequestUser>) {
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        let mut event = event
            .status_code(status)
            .response_time_ms(millis)
            .success(status < 400);
        if let Some(user) = user {
            if let Some(id) = user.user_id {
                event = event.user_id(id);
            }
            if let Some(session) = user.session_id {
                event = event.session_id(session);
            }
        }
        self.client.record(event);
    }
}

/// Request headers copied onto the event, and the fields they fill.
const HEADER_FIELDS: &[(&str, &str)] = &[
    ("user-agent", "user_agent"),
    ("referer", "referrer"),
    ("origin", "origin"),
    ("x-device-id", "device_id"),
    ("x-fingerprint", "fingerprint"),
    ("x-request-id", "request_id"),
];

/// The client's address: the peer's, unless the peer is a trusted proxy, in which case
/// the nearest untrusted hop in `X-Forwarded-For` (`forwarded`), read from the right.
/// Hops may carry a port (`1.2.3.4:5678`, `[2001:db8::1]:443`) as some proxies append
/// one. A hop that is no address at all ends the walk with no address: everything to
/// its left was written by someone untrusted.
fn client_ip(peer: Option<IpAddr>, forwarded: &str, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let mut hops = forwarded
        .rsplit(',')
        .map(str::trim)
        .filter(|h| !h.is_empty());
    let Some(mut hop) = hops.next() else {
        return Some(peer);
    };
    loop {
        let ip = hop_address(hop)?;
        if !trusted.contains(&ip) {
            return Some(ip.to_canonical());
        }
        match hops.next() {
            Some(next) => hop = next,
            // Every hop was a trusted proxy: the leftmost is the client.
            None => return Some(ip),
        }
    }
}

/// One `X-Forwarded-For` hop: an address, `address:port`, or `[IPv6]:port`.
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    hop.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let forwarded = "198.51.100.7, 10.0.0.2";
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "203.0.113.1".parse().unwrap();
        assert_eq!(
            client_ip(Some(stranger), forwarded, &[proxy]),
            Some(stranger)
        );
        assert_eq!(
            client_ip(Some(proxy), forwarded, &[proxy]),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(client_ip(Some(proxy), "", &[proxy]), Some(proxy));
    }

    #[test]
    fn hops_with_ports_are_read_and_the_walk_stops_at_the_first_untrusted_hop() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let ip = |text: &str| Some(text.parse::<IpAddr>().unwrap());
        assert_eq!(
            client_ip(Some(proxy), "6.6.6.6, 198.51.100.7:5678", &[proxy]),
            ip("198.51.100.7"),
            "a port does not make the real client's hop unreadable"
        );
        assert_eq!(
            client_ip(Some(proxy), "6.6.6.6, [2001:db8::1]:443", &[proxy]),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_ip(Some(proxy), "6.6.6.6, garbage", &[proxy]),
            None,
            "nothing left of an unreadable hop is believed"
        );
        assert_eq!(
            client_ip(Some(proxy), "198.51.100.7, 10.0.0.2:80", &[proxy]),
            ip("198.51.100.7"),
            "a trusted proxy with a port is still trusted"
        );
    }
}
