use anyhow::Context;
use logbook_server::{
    App, Config,
    auth::rate_limit::{Rate, RateLimits},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let location = args.store.location()?;
    let described = location.describe();
    let mut config = Config::new(location);
    if let Some(keys) = args.redact_keys {
        config.redact_keys = keys
            .into_iter()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
    }
    let rate = |per_second: f64| (per_second > 0.0).then_some(Rate { per_second });
    config.rate_limits = RateLimits {
        ingest: rate(args.rate_limit_ingest),
        read: rate(args.rate_limit_read),
        admin: rate(args.rate_limit_admin),
    };
    let app = App::build(config)
        .await
        .with_context(|| format!("cannot open {described}"))?;
    if let Some(secret) = app
        .bootstrap()
        .await
        .context("cannot create the default tenant")?
    {
        println!(
            "Created tenant \"default\" and its admin key. It is shown only this once; store it now:\n\n    {secret}\n"
        );
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(storage = %described, address = %args.listen, "logbook is listening");
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    app.serve(listener, shutdown)
        .await
        .context("the server failed")?;
    tracing::info!("stopped; every accepted event is stored");
    Ok(())
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing requests and storing what is queued");
    shutdown.cancel();
}
