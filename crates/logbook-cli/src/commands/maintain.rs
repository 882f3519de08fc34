use logbook_server::jobs::Maintenance;

use logbook_server::checkpoints::Checkpointer;

use super::{
    open,
    serve::{anonymization, existing_secret_key},
};
use crate::cli::MaintainArgs;

/// One round of the server's periodic upkeep, printed job by job; fails if any job did.
pub async fn run(args: MaintainArgs) -> anyhow::Result<()> {
    let store = open(&args.store).await?;
    let anonymization = anonymization(args.anonymize, &args.store.data_dir)?;
    let retention = args
        .retention
        .retention_days
        .is_some()
        .then(|| args.retention.retention(&args.store.data_dir));
    // Cuts of the audit trail are signed with the server's key; none is made here.
    let signer = match existing_secret_key(
        &args.store.data_dir,
        "signing.key",
        "LOGBOOK_SIGNING_KEY",
    )? {
        Some(key) => {
            let signer = Checkpointer::new(key, args.store.data_dir.join("checkpoints.ndjson"));
            store.trust_signing_key(signer.public_key()).await?;
            Some(std::sync::Arc::new(signer))
        }
        None => {
            if retention.is_some() {
                eprintln!(
                    "logbook: no signing key (LOGBOOK_SIGNING_KEY or {}): the audit trail is not cut",
                    args.store.data_dir.join("signing.key").display()
                );
            }
            None
        }
    };
    let report = Maintenance::new(store, anonymization, retention, signer)
        .run_once()
        .await;
    print!("{report}");
    let failed = report.failures().len();
    if failed > 0 {
        anyhow::bail!("{failed} upkeep job(s) failed");
    }
    Ok(())
}
