use logbook_server::jobs::Maintenance;

use super::{open, serve::anonymization};
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
    let report = Maintenance::new(store, anonymization, retention)
        .run_once()
        .await;
    print!("{report}");
    let failed = report.failures().len();
    if failed > 0 {
        anyhow::bail!("{failed} upkeep job(s) failed");
    }
    Ok(())
}
