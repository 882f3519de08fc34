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

#[derive(Clone, Copy, Debug, PartialEq)]
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
        config.retention.archive = private_archive();
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

    /// The app over a store with faults a test switches on.
    pub async fn faulty(backend: Backend) -> (Self, std::sync::Arc<testing::FaultyStore>) {
        let location = match backend {
            Backend::Sqlite => StoreLocation::Sqlite(testing::temp_sqlite_path()),
            Backend::Postgres => StoreLocation::Postgres(testing::fresh_postgres_url().await),
        };
        let store = logbook_store::open(&location).await.unwrap();
        let faulty = std::sync::Arc::new(testing::FaultyStore::new(store));
        let mut config = Config::new(location.clone());
        config.retention.archive = private_archive();
        let app = App::with_store(faulty.clone(), &config);
        let admin = app.bootstrap().await.unwrap().unwrap();
        let router = app.router();
        let app = Self {
            app,
            router,
            admin,
            location,
        };
        (app, faulty)
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

    /// Runs SQL straight on the store's database, as someone with database access can.
    pub async fn raw(&self, sql: &str) {
        match &self.location {
            StoreLocation::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            StoreLocation::Postgres(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                client.batch_execute(sql).await.unwrap();
            }
        }
    }

    /// Holds the database's write lock from another connection, as a long transaction of
    /// another client would, until released: the ingest writers wait behind it.
    pub async fn hold_write_lock(&self) -> WriteLock {
        let (locked, release) = tokio::sync::oneshot::channel();
        let (done, released) = tokio::sync::oneshot::channel::<()>();
        let location = self.location.clone();
        let holder = tokio::spawn(async move {
            match location {
                StoreLocation::Sqlite(path) => {
                    let conn = rusqlite::Connection::open(path).unwrap();
                    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                    locked.send(()).unwrap();
                    released.await.ok();
                    conn.execute_batch("COMMIT").unwrap();
                }
                StoreLocation::Postgres(url) => {
                    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                        .await
                        .unwrap();
                    tokio::spawn(connection);
                    client
                        .batch_execute("BEGIN; LOCK TABLE events IN EXCLUSIVE MODE;")
                        .await
                        .unwrap();
                    locked.send(()).unwrap();
                    released.await.ok();
                    client.batch_execute("COMMIT").await.unwrap();
                }
            }
        });
        release.await.unwrap();
        WriteLock { done, holder }
    }

    /// A tenant id as an SQL literal of the store's dialect.
    pub fn tenant_literal(&self, tenant: logbook_model::TenantId) -> String {
        match self.location {
            StoreLocation::Sqlite(_) => format!("X'{}'", tenant.0.simple()),
            StoreLocation::Postgres(_) => format!("'{}'::uuid", tenant.0),
        }
    }

    /// The id of the key whose secret is `secret`.
    pub async fn key_id(&self, secret: &str) -> String {
        let hash = logbook_server::auth::keys::hash(secret);
        let key = self
            .app
            .store()
            .api_key_by_hash(&hash)
            .await
            .unwrap()
            .unwrap();
        key.id.to_string()
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
        self.send_json(Method::POST, path, key, body).await
    }

    pub async fn put_to(&self, path: &str, key: &str, body: impl Into<Body>) -> Reply {
        self.send_json(Method::PUT, path, key, body).await
    }

    pub async fn patch_to(&self, path: &str, key: &str, body: impl Into<Body>) -> Reply {
        self.send_json(Method::PATCH, path, key, body).await
    }

    async fn send_json(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: impl Into<Body>,
    ) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.into())
            .unwrap();
        self.send(request).await
    }

    /// Signs into the console with `key` as a browser would (the sign-in form's cookie and
    /// CSRF token); the session's cookie.
    pub async fn console_session(&self, key: &str) -> String {
        let form = self.console_get("/console/sign-in", "").await;
        let sign_in_cookie = cookie_of(&form.headers);
        let page = form.body.as_str().unwrap_or_default().to_owned();
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the sign-in form has a CSRF token")
            .to_owned();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("key", key)
            .append_pair("csrf", &csrf)
            .append_pair("next", "/console")
            .finish();
        let request = Request::post("/console/sign-in")
            .header(header::COOKIE, sign_in_cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let signed_in = self.send(request).await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.body);
        cookie_of(&signed_in.headers)
    }

    /// A console page as `cookie`'s session sees it; the body is the HTML as text.
    pub async fn console_get(&self, path: &str, cookie: &str) -> Reply {
        let request = Request::get(path)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
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

/// The first cookie a response sets, as a `Cookie` header sends it back.
fn cookie_of(headers: &HeaderMap) -> String {
    let set = headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("the response sets a cookie");
    set.split(';').next().unwrap().to_owned()
}

/// An archive directory of the test's own, never one under the working directory.
fn private_archive() -> logbook_store::archive::ArchiveDir {
    let dir = testing::temp_sqlite_path()
        .parent()
        .unwrap()
        .join("archive");
    logbook_store::archive::ArchiveDir::new(dir)
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

/// A write lock held by [`TestApp::hold_write_lock`].
pub struct WriteLock {
    done: tokio::sync::oneshot::Sender<()>,
    holder: tokio::task::JoinHandle<()>,
}

impl WriteLock {
    pub async fn release(self) {
        self.done.send(()).unwrap();
        self.holder.await.unwrap();
    }
}
