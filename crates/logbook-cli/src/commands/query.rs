use anyhow::anyhow;
use chrono::{DateTime, Utc};
use logbook_model::{EventFilter, EventQuery, EventType, Page};

use super::open;
use crate::{cli::QueryArgs, printable::printable};

pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let query = build(&args)?;
    let cipher = args.encryption.cipher()?;
    let store = open(&args.store).await?;
    let tenant = store
        .tenant_by_name(&args.tenant)
        .await?
        .ok_or_else(|| anyhow!("no tenant named {:?}", args.tenant))?;
    let mut page = store.list_events(tenant.id, &query).await?;
    if let Some(cipher) = &cipher {
        page.items
            .iter_mut()
            .for_each(|event| cipher.open_event(event));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
    } else {
        print_table(&page);
    }
    Ok(())
}

fn build(args: &QueryArgs) -> anyhow::Result<EventQuery> {
    let time = |name: &str, value: &Option<String>| -> anyhow::Result<Option<DateTime<Utc>>> {
        value
            .as_deref()
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        anyhow!(
                            "--{name}: {v:?} is not an RFC 3339 time such as 2026-01-27T10:00:00Z"
                        )
                    })
            })
            .transpose()
    };
    let filter = EventFilter {
        event_type: args
            .event_type
            .as_deref()
            .map(|t| EventType::parse(t).map_err(|e| anyhow!("--event-type: {e}")))
            .transpose()?,
        event_subtype: args.event_subtype.clone(),
        user_id: args.user_id.clone(),
        ip: args
            .ip
            .as_deref()
            .map(|ip| ip.parse().map_err(|e| anyhow!("--ip: {e}")))
            .transpose()?,
        fingerprint: args.fingerprint.clone(),
        session_id: args.session_id.clone(),
        request_id: args.request_id.clone(),
        service: args.service.clone(),
        provider: None,
        statuses: Vec::new(),
        success: args.success,
        severity: args
            .severity
            .as_deref()
            .map(|s| s.parse().map_err(|e| anyhow!("--severity: {e}")))
            .transpose()?,
        status_code: args.status_code,
        path_prefix: args.path.clone(),
        message_contains: args.q.clone(),
        from: time("from", &args.from)?,
        to: time("to", &args.to)?,
    };
    Ok(EventQuery {
        filter,
        order: args.order.parse().map_err(|e| anyhow!("--order: {e}"))?,
        limit: args.limit,
        cursor: None,
        skip: 0,
    })
}

fn print_table(page: &Page) {
    print_header();
    page.items.iter().for_each(print_row);
    if page.next_cursor.is_some() {
        println!("… more events: raise --limit or narrow the filters");
    }
}

pub fn print_header() {
    println!(
        "{:<27} {:<14} {:<20} {:<16} {:>6} {:<30} MESSAGE",
        "CREATED_AT", "TYPE", "USER", "IP", "STATUS", "PATH"
    );
}

pub fn print_row(e: &logbook_model::Event) {
    {
        let cell = |v: &Option<String>, width: usize| clip(v.as_deref().unwrap_or("-"), width);
        println!(
            "{:<27} {:<14} {:<20} {:<16} {:>6} {:<30} {}",
            e.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            clip(e.event_type.as_str(), 14),
            cell(&e.user_id, 20),
            clip(
                &e.ip_address
                    .map(|ip| ip.to_string())
                    .unwrap_or_else(|| "-".into()),
                16
            ),
            e.response_status_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            cell(&e.request_path, 30),
            cell(&e.message, 60),
        );
    }
}

fn clip(text: &str, width: usize) -> String {
    let text = printable(text);
    if text.chars().count() <= width {
        text.into_owned()
    } else {
        let mut clipped: String = text.chars().take(width - 1).collect();
        clipped.push('…');
        clipped
    }
}
