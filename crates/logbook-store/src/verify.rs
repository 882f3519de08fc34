//! Verifying a tenant's stored audit chain, page by page, against its head.

use logbook_model::{
    TenantId,
    audit::chain::{self, Verification},
};

use crate::{Result, Store};

const PAGE: i64 = 1000;

/// Checks `from_seq..=to_seq` (everything stored when `to_seq` is `None`): every link,
/// every hash, no gaps, and — for a check to the end — that the chain ends exactly where
/// its head says, so rows cut from the end or added past it are noticed too.
pub async fn verify_audit(
    store: &dyn Store,
    tenant: TenantId,
    from_seq: i64,
    to_seq: Option<i64>,
) -> Result<Verification> {
    let (head_seq, head_hash) = store.audit_head(tenant).await?;
    let from = from_seq.max(1);
    let to = to_seq.unwrap_or(head_seq);
    let mut result = Verification::default();
    let mut expected = if from == 1 {
        (0, chain::GENESIS.to_owned())
    } else {
        match store
            .audit_range(tenant, from - 1, from - 1, 1)
            .await?
            .pop()
        {
            Some(previous) => (previous.seq, previous.hash),
            None => {
                return Ok(result.broken(from - 1, format!("seq {} is missing", from - 1)));
            }
        }
    };
    while expected.0 < to {
        let page = store.audit_range(tenant, expected.0 + 1, to, PAGE).await?;
        if page.is_empty() {
            break;
        }
        let checked = chain::verify(&page, (expected.0, &expected.1));
        result.checked += checked.checked;
        if result.first_seq.is_none() {
            result.first_seq = checked.first_seq;
        }
        if let Some(bad) = checked.first_bad {
            return Ok(result.broken(bad.seq, bad.reason));
        }
        expected = (
            checked.last_seq.unwrap_or(expected.0),
            checked.last_hash.unwrap_or(expected.1),
        );
        result.last_seq = Some(expected.0);
        result.last_hash = Some(expected.1.clone());
    }
    let last = expected.0;
    let to_end = to_seq.is_none() || to_seq.is_some_and(|to| to >= head_seq);
    if to_end && last < head_seq {
        let reason =
            format!("truncated: the chain ends at seq {last} but its head is at seq {head_seq}");
        return Ok(result.broken(last + 1, reason));
    }
    if to_seq.is_none()
        && !store
            .audit_range(tenant, head_seq + 1, i64::MAX, 1)
            .await?
            .is_empty()
    {
        let reason =
            format!("events past the chain head (seq {head_seq}) were added outside Logbook");
        return Ok(result.broken(head_seq + 1, reason));
    }
    if to_end && last == head_seq && head_seq > 0 && expected.1 != head_hash {
        return Ok(result.broken(
            head_seq,
            "the last event's hash is not the one the chain head recorded",
        ));
    }
    Ok(result)
}
