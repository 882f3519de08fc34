use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode, header};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

use crate::cli::ExportArgs;

/// `logbook verify FILE...`: prints the result; exits non-zero unless the files verify.
pub fn verify(files: &[PathBuf], public_keys: &[String]) -> anyhow::Result<()> {
    for file in files {
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    }
    if public_keys.is_empty() {
        eprintln!(
            "logbook: no --public-key: checking against the keys the file names, which proves only that it agrees with itself"
        );
    }
    let openers: Vec<Box<Opener>> = files
        .iter()
        .map(|file| {
            let file = file.clone();
            Box::new(move || reader(&file)) as Box<Opener>
        })
        .collect();
    let openers: Vec<&Opener> = openers.iter().map(AsRef::as_ref).collect();
    let named = || {
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let result = logbook_server::checkpoints::verify_export(&openers, public_keys)
        .map_err(|e| anyhow!("{}: {e}", named()))?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    match result.first_bad {
        None => Ok(()),
        Some(bad) => bail!(
            "the export does not verify: seq {}: {}",
            bad.seq,
            bad.reason
        ),
    }
}

/// Opens one file to verify, again each time it is called.
type Opener = dyn Fn() -> std::io::Result<Box<dyn BufRead>>;

/// A file's lines: an archive (`.zst`) decompressed as it is read.
fn reader(file: &Path) -> std::io::Result<Box<dyn BufRead>> {
    let opened = std::fs::File::open(file)?;
    Ok(match file.extension().is_some_and(|e| e == "zst") {
        true => Box::new(BufReader::new(zstd::Decoder::new(opened)?)),
        false => Box::new(BufReader::new(opened)),
    })
}

/// `logbook verify` without a file: the tenant's chain in the store, against the
/// checkpoints signed with the data dir's key (when there is one).
pub async fn verify_store(store_args: &crate::cli::StoreArgs, tenant: &str) -> anyhow::Result<()> {
    let store = super::open(store_args).await?;
    let tenant = store
        .tenant_by_name(tenant)
        .await?
        .ok_or_else(|| anyhow!("no tenant named {tenant:?}"))?;
    let witness = store_args.data_dir.join("checkpoints.ndjson");
    if !witness.exists() {
        eprintln!(
            "logbook: no {}: checking the chain against its stored checkpoints only",
            witness.display()
        );
    }
    let witnessed = logbook_server::checkpoints::witnessed(&witness, tenant.id);
    let result = store.verify_audit(tenant.id, 1, None, witnessed).await?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    match result.first_bad {
        None => Ok(()),
        Some(bad) => bail!("the chain does not verify: seq {}: {}", bad.seq, bad.reason),
    }
}

/// `logbook export`: streams an export from the server into a file.
pub async fn download(args: ExportArgs) -> anyhow::Result<()> {
    let path = match args.what.as_str() {
        "audit" => "/api/v1/audit/export",
        _ => "/api/v1/logs/export",
    };
    let uri = format!(
        "{}{path}?format={}",
        args.url.trim_end_matches('/'),
        args.format
    );
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = Request::get(&uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", args.key))
        .body(Empty::new())?;
    let response = client
        .request(request)
        .await
        .with_context(|| format!("cannot reach {}", args.url))?;
    if response.status() != StatusCode::OK {
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        bail!(
            "the server answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&args.out)
            .with_context(|| format!("cannot create {}", args.out.display()))?,
    );
    let mut body = response.into_body();
    let (mut bytes, mut lines, mut last_report) = (0usize, 0usize, std::time::Instant::now());
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            file.write_all(&data)?;
            bytes += data.len();
            lines += data.iter().filter(|b| **b == b'\n').count();
            if last_report.elapsed().as_millis() >= 200 {
                eprint!("\r{lines} lines, {:.1} MB", bytes as f64 / 1e6);
                last_report = std::time::Instant::now();
            }
        }
    }
    file.flush()?;
    eprintln!(
        "\r{lines} lines, {:.1} MB written to {}",
        bytes as f64 / 1e6,
        args.out.display()
    );
    Ok(())
}
