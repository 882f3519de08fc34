//! Requests to the addresses alert rules name (webhooks, Slack, PagerDuty), over HTTP or
//! HTTPS (the system's trusted roots). Addresses are checked after resolution, on every
//! request: link-local and cloud metadata addresses are refused unless allowed, so a rule
//! cannot make the server read its host's metadata service, however its name resolves.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::http::{self, Request, StatusCode, Uri};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::{
    client::legacy::{
        Client,
        connect::{HttpConnector, dns::Name},
    },
    rt::TokioExecutor,
};

/// How long one delivery may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Outbound {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector<Guarded>>, Full<Bytes>>,
    allow_link_local: bool,
}

impl Outbound {
    /// A client that trusts the system's certificate authorities (none when the system
    /// has none: HTTPS deliveries then fail, each with its reason).
    pub fn new(allow_link_local: bool) -> Self {
        let mut http = HttpConnector::new_with_resolver(Guarded { allow_link_local });
        http.enforce_http(false);
        http.set_connect_timeout(Some(TIMEOUT));
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder.with_native_roots() {
            Ok(builder) => builder,
            // ring is the one provider this build carries (aws-lc-rs would double the
            // build); its lack of post-quantum key exchange is why it is deprecated.
            #[allow(deprecated)]
            Err(error) => {
                tracing::warn!(%error, "no trusted certificates found: HTTPS notifications will fail");
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                        rustls::crypto::ring::default_provider(),
                    ))
                    .with_safe_default_protocol_versions()
                    .expect("ring supports the default versions")
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
                )
            }
        };
        let https = builder.https_or_http().enable_http1().wrap_connector(http);
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
            allow_link_local,
        }
    }

    /// GETs a URL within `timeout`: the status and the milliseconds to it, or why there
    /// is none.
    pub async fn probe(&self, url: &str, timeout: Duration) -> Result<(u16, u32), String> {
        let uri = self.checked(url)?;
        let request = Request::get(uri)
            .header(http::header::USER_AGENT, "logbook-monitor")
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let started = std::time::Instant::now();
        match tokio::time::timeout(timeout, self.client.request(request)).await {
            Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
            Ok(Err(error)) => Err(logbook_store::with_causes(&error)),
            Ok(Ok(response)) => {
                let ms = started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
                Ok((response.status().as_u16(), ms))
            }
        }
    }

    /// The URL parsed, and its address checked when it is written as one (a name is
    /// checked when it resolves).
    fn checked(&self, url: &str) -> Result<Uri, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if let Some(host) = uri.host()
            && let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>()
        {
            refuse(ip, self.allow_link_local).map_err(|e| e.to_string())?;
        }
        Ok(uri)
    }

    /// POSTs a JSON body; the status, or why there is none.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<StatusCode, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        // An address written in the URL is not resolved, so is checked here.
        if let Some(host) = uri.host()
            && let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>()
        {
            refuse(ip, self.allow_link_local).map_err(|e| e.to_string())?;
        }
        let mut request = Request::post(uri).header(http::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(TIMEOUT, self.client.request(request)).await {
            Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
            Ok(Err(error)) => Err(logbook_store::with_causes(&error)),
            Ok(Ok(response)) => Ok(response.status()),
        }
    }
}

/// Why an address may not be reached, if it may not.
fn refuse(ip: IpAddr, allow_link_local: bool) -> std::io::Result<()> {
    let ip = ip.to_canonical();
    let metadata = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        // fe80::/10, and AWS's IPv6 metadata address.
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6 == "fd00:ec2::254".parse::<std::net::Ipv6Addr>().unwrap()
        }
    };
    let nowhere = ip.is_unspecified() || ip.is_multicast();
    if nowhere || (metadata && !allow_link_local) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{ip} is a link-local, metadata or unroutable address; notifications may not go there"
            ),
        ));
    }
    Ok(())
}

/// A resolver that drops the addresses [`refuse`] refuses, and fails when none is left.
#[derive(Clone)]
struct Guarded {
    allow_link_local: bool,
}

impl tower_service::Service<Name> for Guarded {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow = self.allow_link_local;
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match refuse(a.ip(), allow) {
                    Ok(()) => true,
                    Err(e) => {
                        refused = Some(e);
                        false
                    }
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(error)) => Err(error),
                _ => Ok(allowed.into_iter()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_link_local_addresses_are_refused_unless_allowed() {
        for ip in [
            "169.254.169.254",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
        ] {
            assert!(refuse(ip.parse().unwrap(), false).is_err(), "{ip}");
        }
        assert!(refuse("169.254.169.254".parse().unwrap(), true).is_ok());
        for ip in ["127.0.0.1", "10.0.0.8", "203.0.113.9", "::1"] {
            assert!(refuse(ip.parse().unwrap(), false).is_ok(), "{ip}");
        }
    }
}
