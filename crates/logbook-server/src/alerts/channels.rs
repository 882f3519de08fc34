//! What each kind of channel is sent, and the sending: a signed JSON webhook, a Slack
//! message, a PagerDuty Events v2 event, an e-mail, a PostgreSQL `NOTIFY`. Alert stream
//! (`sse`) notifications are read from the store by the stream itself and never pass here.

use hmac::{Hmac, KeyInit, Mac};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};
use logbook_model::alerts::{ChannelType, NoticeKind, PAGERDUTY_EVENTS_URL};
use logbook_store::{Store, alerts::Notification};
use serde_json::{Value, json};
use sha2::Sha256;

use super::Outbound;

/// Why a delivery failed, and whether trying again may help.
pub enum Failure {
    Retry(String),
    Permanent(String),
}

/// The JSON a webhook receives (and what `NOTIFY` and the alert stream carry).
pub fn webhook_body(n: &Notification) -> Value {
    json!({
        "id": n.id,
        "kind": n.kind,
        "alert": n.alert,
        "sent_at": n.created_at,
    })
}

/// `sha256=<hex HMAC-SHA256 of the body>`, as GitHub signs its hooks.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!(
        "sha256={}",
        logbook_model::hex::encode(&mac.finalize().into_bytes())
    )
}

fn headline(n: &Notification) -> String {
    let what = match n.kind {
        NoticeKind::Triggered => "firing",
        NoticeKind::Repeated => "still firing",
        NoticeKind::Escalated => "escalated: unacknowledged",
        NoticeKind::Resolved => "resolved",
        NoticeKind::Acknowledged => "acknowledged",
        NoticeKind::Silenced => "silenced",
    };
    format!(
        "[{}] {what}: {}",
        n.alert.severity.as_str(),
        n.alert.message
    )
}

fn slack_body(n: &Notification) -> Value {
    json!({"text": headline(n)})
}

fn pagerduty_body(n: &Notification, routing_key: &str) -> Value {
    let action = match n.kind {
        NoticeKind::Resolved => "resolve",
        NoticeKind::Acknowledged => "acknowledge",
        _ => "trigger",
    };
    let severity = match n.alert.severity {
        logbook_model::Severity::Critical | logbook_model::Severity::Fatal => "critical",
        logbook_model::Severity::Error => "error",
        logbook_model::Severity::Warning => "warning",
        _ => "info",
    };
    json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": n.alert.id,
        "payload": {
            "summary": n.alert.message.chars().take(1024).collect::<String>(),
            "source": "logbook",
            "severity": severity,
            "timestamp": n.alert.triggered_at,
            "custom_details": n.alert,
        },
    })
}

/// Sends e-mail through the configured relay.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// From `smtp://[user:password@]host[:port]` (STARTTLS when offered) or `smtps://…`.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("--smtp-url: {e}"))?;
        let host = parsed
            .host_str()
            .ok_or("--smtp-url needs a host")?
            .trim_matches(['[', ']'])
            .to_owned();
        let tls = TlsParameters::new(host.clone()).map_err(|e| format!("--smtp-url: {e}"))?;
        let (tls, default_port) = match parsed.scheme() {
            "smtp" => (Tls::Opportunistic(tls), 25),
            "smtps" => (Tls::Wrapper(tls), 465),
            other => return Err(format!("--smtp-url: {other}:// is not smtp:// or smtps://")),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
            .port(parsed.port().unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(std::time::Duration::from_secs(10)));
        if !parsed.username().is_empty() {
            let user = percent_decode(parsed.username());
            let password = percent_decode(parsed.password().unwrap_or(""));
            builder = builder.credentials(Credentials::new(user, password));
        }
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("--smtp-from {from:?}: {e}"))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    async fn send(&self, n: &Notification, to: &[String]) -> Result<(), Failure> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(headline(n).chars().take(200).collect::<String>())
            .header(ContentType::TEXT_PLAIN);
        for to in to {
            let mailbox: Mailbox = to
                .parse()
                .map_err(|e| Failure::Permanent(format!("{to:?}: {e}")))?;
            message = message.to(mailbox);
        }
        let text = format!(
            "{}\n\nrule: {}\nstatus: {}\ncurrent value: {}\nthreshold: {}\ntriggered at: {}\nalert: {}\n",
            headline(n),
            n.alert.rule_name,
            n.alert.status,
            n.alert.current_value,
            n.alert.threshold,
            n.alert.triggered_at.to_rfc3339(),
            n.alert.id,
        );
        let message = message
            .body(text)
            .map_err(|e| Failure::Permanent(e.to_string()))?;
        self.transport.send(message).await.map(drop).map_err(|e| {
            if e.is_permanent() {
                Failure::Permanent(e.to_string())
            } else {
                Failure::Retry(e.to_string())
            }
        })
    }
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Delivers one notification.
pub async fn deliver(
    n: &Notification,
    outbound: &Outbound,
    mailer: Option<&Mailer>,
    store: &dyn Store,
) -> Result<(), Failure> {
    let channel = &n.channel;
    let (url, body, mut headers) = match channel.kind {
        ChannelType::Sse => return Ok(()),
        ChannelType::Email => {
            let mailer = mailer.ok_or_else(|| {
                Failure::Permanent("no SMTP relay is configured (--smtp-url)".into())
            })?;
            return mailer.send(n, &channel.to).await;
        }
        ChannelType::Notify => {
            let name = channel.channel.as_deref().unwrap_or_default();
            let payload = webhook_body(n).to_string();
            return store
                .notify(name, &payload)
                .await
                .map_err(|e| Failure::Retry(e.to_string()));
        }
        ChannelType::Webhook => (channel.url.clone(), webhook_body(n), Vec::new()),
        ChannelType::Slack => (channel.url.clone(), slack_body(n), Vec::new()),
        ChannelType::Pagerduty => (
            Some(
                channel
                    .url
                    .clone()
                    .unwrap_or_else(|| PAGERDUTY_EVENTS_URL.into()),
            ),
            pagerduty_body(n, channel.secret.as_deref().unwrap_or_default()),
            Vec::new(),
        ),
    };
    let url = url.ok_or_else(|| Failure::Permanent("the channel has no url".into()))?;
    let body = serde_json::to_vec(&body).expect("JSON serializes");
    if channel.kind == ChannelType::Webhook {
        headers.push((
            "x-logbook-event",
            serde_json::to_value(n.kind)
                .unwrap_or_default()
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ));
        headers.push(("x-logbook-delivery", n.id.to_string()));
        if let Some(secret) = &channel.secret {
            headers.push(("x-logbook-signature", signature(secret, &body)));
        }
    }
    let status = outbound
        .post_json(&url, &headers, body)
        .await
        .map_err(Failure::Retry)?;
    if status.is_success() {
        Ok(())
    } else if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
        Err(Failure::Permanent(format!("{url} answered {status}")))
    } else {
        Err(Failure::Retry(format!("{url} answered {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_github_style_hmac_sha256() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
