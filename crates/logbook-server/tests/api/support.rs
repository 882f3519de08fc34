use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use logbook_model::Scopes;
use logbook_server::{App, Config, IngestConfig, auth::keys};
use logbook_store::{StoreLocation, testing};
use serde_json::Value;
use tower::ServiceExt;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub app: App,
    pub router: Router,
    /// The admin key of tenant `default`.
    pub admin: String,
    pub location: StoreLocation,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub async fn start(backend: Backend) -> Self {
        Self::with_ingest(backend, IngestConfig::default()).await
    }

    pub async fn with_ingest(backend: Backend, ingest: IngestConfig) -> Self {
        Self::with_config(backend, |config| config.ingest = ingest).await
    }

    pub async fn with_config(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let location = match backend {
            Backend::Sqlite => StoreLocation::Sqlite(testing::temp_sqlite_path()),
            Backend::Postgres => StoreLocation::Postgres(testing::fresh_postgres_url().await),
        };
        let mut config = Config::new(location.clone());
        adjust(&mut config);
        let app = App::build(config).await.expect("the app starts");
        let admin = app
            .bootstrap()
            .await
            .unwrap()
            .expect("a fresh store gets an admin key");
        let router = app.router();
        Self {
            app,
            router,
            admin,
            location,
        }
    }

    /// A new tenant and a key for it with `scopes`.
    pub async fn tenant_key(&self, tenant: &str, scopes: &str) -> String {
        let store = self.app.store();
        let tenant = match store.tenant_by_name(tenant).await.unwrap() {
            Some(t) => t,
            None => store.create_tenant(tenant).await.unwrap(),
        };
        let scopes: Scopes = scopes.parse().unwrap();
        keys::create(store.as_ref(), tenant.id, "test", scopes, None)
            .await
            .unwrap()
            .secret
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    pub async fn post_to(&self, path: &str, key: &str, body: impl Into<Body>) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.into())
            .unwrap();
        self.send(request).await
    }

    pub async fn post_events(&self, key: &str, body: impl Into<Body>) -> Reply {
        self.post_with(key, body, &[]).await
    }

    pub async fn post_with(
        &self,
        key: &str,
        body: impl Into<Body>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/events")
            .header("x-api-key", key)
            .header(header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(body.into()).unwrap()).await
    }
}

/// Asserts an RFC 9457 problem with `status` whose detail mentions `needle`.
pub fn assert_problem(reply: &Reply, status: u16, needle: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(reply.body["status"], status);
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(needle),
        "{detail:?} should mention {needle:?}"
    );
}
