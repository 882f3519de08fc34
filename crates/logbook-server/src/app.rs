//! Building the application: storage, ingest writers, jobs and the router.

use std::sync::Arc;

use axum::Router;
use logbook_model::{EventParser, Redactor, Scopes};
use logbook_store::Store;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    ApiError, Config,
    auth::{KeyCache, KeyUsage, keys, rate_limit::RateLimiter},
    ingest::Ingestor,
    jobs, routes,
};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub keys: Arc<KeyCache>,
    pub usage: Arc<KeyUsage>,
    pub limiter: Arc<RateLimiter>,
    /// Seals configured fields on ingest and opens them on read.
    pub cipher: Option<Arc<crate::encryption::FieldCipher>>,
    pub checkpointer: Option<Arc<crate::checkpoints::Checkpointer>>,
    /// How long events are kept where a tenant set nothing of its own, and where they
    /// are archived.
    pub retention: Arc<crate::config::Retention>,
    pub(crate) bodies: Arc<crate::request_body::BodyBudget>,
    pub(crate) ingestor: Ingestor,
    pub(crate) parser: Arc<EventParser>,
    pub(crate) audit_parser: Arc<logbook_model::audit::AuditParser>,
    pub(crate) tail: crate::tail::TailHub,
    /// Fired when the server begins to stop: streams that never end by themselves end.
    pub(crate) stopping: CancellationToken,
    /// Alert streams open now (each reads the store every second).
    pub(crate) alert_streams: Arc<std::sync::atomic::AtomicUsize>,
}

pub struct App {
    state: AppState,
    timeouts: crate::config::Timeouts,
    maintenance: Arc<jobs::Maintenance>,
    writers: Vec<JoinHandle<()>>,
    jobs: JoinHandle<()>,
    jobs_stop: CancellationToken,
    evaluator: Arc<crate::alerts::Evaluator>,
    sender: Arc<crate::alerts::Sender>,
    checker: Arc<crate::alerts::Checker>,
}

/// The tenant a fresh store is given, with an admin key.
pub const DEFAULT_TENANT: &str = "default";

impl App {
    /// Opens storage (applying migrations), trusts this server's checkpoint signing key
    /// (so every server sharing the store verifies its checkpoints), and starts the
    /// ingest writers and jobs.
    pub async fn build(config: Config) -> Result<Self, logbook_store::StoreError> {
        let options = logbook_store::OpenOptions {
            layout: config.postgres_layout,
            ..Default::default()
        };
        let store = logbook_store::open_with(&config.location, options).await?;
        if let Some(checkpointer) = &config.checkpoints {
            store.trust_signing_key(checkpointer.public_key()).await?;
        }
        Ok(Self::with_store(store, &config))
    }

    pub fn with_store(store: Arc<dyn Store>, config: &Config) -> Self {
        let jobs_stop = CancellationToken::new();
        let tail = crate::tail::TailHub::start(config.encryption.clone());
        if let Some(notes) = store.commit_notes() {
            let (store, tail) = (store.clone(), tail.clone());
            tokio::spawn(crate::tail::remote::follow(
                store,
                tail,
                notes,
                jobs_stop.clone(),
            ));
        }
        let (ingestor, writers) = Ingestor::start(store.clone(), &config.ingest, tail.clone());
        let redactor = Redactor::new(config.redact_keys.iter().map(String::as_str));
        let usage = Arc::new(KeyUsage::default());
        let keys: Arc<KeyCache> = Arc::default();
        let maintenance = Arc::new(jobs::Maintenance::new(
            store.clone(),
            config.anonymization.clone(),
            Some(config.retention.clone()),
            config.checkpoints.clone(),
        ));
        let jobs = tokio::spawn(jobs::run_all(
            store.clone(),
            usage.clone(),
            keys.clone(),
            maintenance.clone(),
            config.checkpoints.clone(),
            jobs_stop.clone(),
        ));
        let (evaluator, sender, checker) = config.alerts.start(store.clone());
        let (evaluator, sender, checker) =
            (Arc::new(evaluator), Arc::new(sender), Arc::new(checker));
        tokio::spawn(crate::alerts::check_monitors(
            checker.clone(),
            jobs_stop.clone(),
        ));
        tokio::spawn(crate::alerts::run(
            evaluator.clone(),
            sender.clone(),
            jobs_stop.clone(),
        ));
        let state = AppState {
            store,
            keys,
            usage,
            limiter: Arc::new(RateLimiter::new(config.rate_limits.clone())),
            cipher: config.encryption.clone(),
            checkpointer: config.checkpoints.clone(),
            retention: Arc::new(config.retention.clone()),
            bodies: Arc::new(crate::request_body::BodyBudget::new(config.bodies.clone())),
            ingestor,
            parser: Arc::new(
                EventParser::new(redactor.clone()).with_backfill(config.ingest.backfill),
            ),
            audit_parser: Arc::new(logbook_model::audit::AuditParser::new(redactor)),
            tail,
            stopping: CancellationToken::new(),
            alert_streams: Arc::default(),
        };
        Self {
            state,
            timeouts: config.timeouts.clone(),
            maintenance,
            writers,
            jobs,
            jobs_stop,
            evaluator,
            sender,
            checker,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.state.store
    }

    /// On a store with no tenant, creates tenant `default` and an admin key, and returns
    /// the key's secret, to be shown once.
    pub async fn bootstrap(&self) -> Result<Option<String>, logbook_store::StoreError> {
        if !self.state.store.list_tenants().await?.is_empty() {
            return Ok(None);
        }
        let tenant = self.state.store.create_tenant(DEFAULT_TENANT).await?;
        let created = keys::create(
            self.state.store.as_ref(),
            tenant.id,
            "admin",
            Scopes::all(),
            None,
        )
        .await?;
        Ok(Some(created.secret))
    }

    /// Runs every background job once, now: tests use it instead of waiting for timers.
    pub async fn run_jobs_once(&self) -> Result<(), logbook_store::StoreError> {
        let store = self.state.store.clone();
        self.maintenance.run_every_job().await.into_result()?;
        crate::checkpoints::CheckpointJob {
            store: store.clone(),
            checkpointer: self.state.checkpointer.clone(),
        }
        .run_once()
        .await?;
        jobs::KeyUsageFlush {
            store,
            usage: self.state.usage.clone(),
        }
        .run_once()
        .await?;
        Ok(())
    }

    /// One round of alert evaluation at `now`, then one of delivery: tests step the
    /// clock instead of waiting for it.
    pub async fn run_alerts_once(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, logbook_store::StoreError> {
        self.evaluator.run_once(now).await?;
        self.sender.run_once(now).await
    }

    /// One round of monitor checks at `now`; returns how many monitors were checked.
    pub async fn run_monitors_once(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, logbook_store::StoreError> {
        self.checker.run_once(now).await
    }

    /// The whole HTTP API, each request bounded by the request timeout, every error
    /// answered as problem+json (an extractor's own rejection included).
    pub fn router(&self) -> Router {
        let api = routes::router()
            .with_state(self.state.clone())
            .layer(axum::middleware::map_response(crate::error::as_problem));
        let limit = self.timeouts.request;
        crate::console::router(self.state.clone(), api.clone())
            .merge(api)
            .layer(axum::middleware::from_fn(
                move |request, next: axum::middleware::Next| async move {
                    match tokio::time::timeout(limit, next.run(request)).await {
                        Ok(response) => response,
                        Err(_) => axum::response::IntoResponse::into_response(ApiError::Timeout(
                            limit.as_secs(),
                        )),
                    }
                },
            ))
    }

    /// Serves until `shutdown` fires, then stops accepting, finishes open requests,
    /// stores everything queued, and returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        let router = self.router();
        let stopping = (shutdown.clone(), self.state.stopping.clone());
        tokio::spawn(async move {
            stopping.0.cancelled().await;
            stopping.1.cancel();
        });
        crate::serve::serve(listener, router, self.timeouts.header, shutdown).await?;
        self.shutdown().await;
        Ok(())
    }

    /// Stops the jobs and waits for the writers to drain the queue.
    pub async fn shutdown(self) {
        let Self {
            state,
            timeouts: _,
            maintenance: _,
            writers,
            jobs,
            jobs_stop,
            evaluator,
            sender,
            checker,
        } = self;
        drop((evaluator, sender, checker));
        state.stopping.cancel();
        jobs_stop.cancel();
        drop(state);
        for writer in writers {
            let _ = writer.await;
        }
        let _ = jobs.await;
    }
}
