use std::sync::Arc;

use chrono::{Duration, Utc};
use logbook_store::{Store, StoreError};

use crate::config::Anonymization;

/// Anonymizes events past their type's age (seed 001 6.3); off unless rules are set.
pub struct AnonymizationJob {
    pub store: Arc<dyn Store>,
    pub config: Option<Anonymization>,
}

impl AnonymizationJob {
    pub async fn run_once(&self) -> Result<u64, StoreError> {
        let Some(config) = &self.config else {
            return Ok(0);
        };
        let mut changed = 0;
        for rule in &config.rules {
            let before = Utc::now() - Duration::days(i64::from(rule.days));
            let n = self
                .store
                .anonymize(&rule.event_type, before, &config.pseudonymizer)
                .await?;
            if n > 0 {
                tracing::info!(event_type = %rule.event_type, events = n, "anonymized old events");
            }
            changed += n;
        }
        Ok(changed)
    }
}
