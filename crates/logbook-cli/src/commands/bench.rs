use clap::Args;

use crate::cli::BenchCommand;

#[derive(Debug, Args)]
pub struct IngestBenchArgs {}

pub async fn run(_command: BenchCommand) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
