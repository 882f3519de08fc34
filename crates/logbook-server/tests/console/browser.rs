//! A real headless Chromium, driven over WebDriver by Debian's chromedriver, against the
//! real server listening on loopback.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator, wd::WebDriverCompatibleCommand};
use serde_json::{Value, json};

use crate::support::TestApp;

/// One chromedriver for the whole test binary; each test opens its own browser session.
struct Driver {
    url: String,
    _process: Child,
}

static DRIVER: OnceLock<Option<Driver>> = OnceLock::new();

fn driver() -> Option<&'static Driver> {
    DRIVER
        .get_or_init(|| {
            let binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
                .into_iter()
                .find(|p| std::path::Path::new(p).exists())
                .map(str::to_owned)
                .or_else(|| which("chromedriver"));
            let Some(binary) = binary else {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "chromedriver is not installed: CI never skips the browser tests \
                     (scripts/test installs chromium and chromium-driver)"
                );
                eprintln!("skipping the browser tests: chromedriver is not installed");
                return None;
            };
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let process = Command::new(binary)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts");
            let url = format!("http://127.0.0.1:{port}");
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Some(Driver {
                url,
                _process: process,
            })
        })
        .as_ref()
}

fn which(name: &str) -> Option<String> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| format!("{dir}/{name}"))
        .find(|p| std::path::Path::new(p).exists())
}

/// The server on a loopback port, and a browser pointed at it.
pub struct Browser {
    pub client: Client,
    pub base: String,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Browser {
    /// `None` where chromedriver is missing outside CI.
    pub async fn open(app: &TestApp) -> Option<Self> {
        let driver = driver()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = tokio_util::sync::CancellationToken::new();
        let router = app.router.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
                .unwrap();
        });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--no-first-run", "--disable-extensions"],
            }),
        );
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .expect("chromedriver opens a Chromium session");
        Some(Self {
            client,
            base,
            shutdown,
        })
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn sign_in(&self, key: &str) {
        self.goto("/console/sign-in").await;
        let form = self.client.form(Locator::Css("form")).await.unwrap();
        form.set_by_name("key", key).await.unwrap();
        form.submit().await.unwrap();
        // Done when the next page is there: any page but the form, or the form saying why.
        for _ in 0..100 {
            let title = self.text("h1").await;
            if title != "Sign in to Logbook" || self.count("p.error").await > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("signing in led nowhere");
    }

    /// The text of the first element matching `css`, once the page has one (a page
    /// being replaced by the next is waited out).
    pub async fn text(&self, css: &str) -> String {
        let mut last_error = String::new();
        for _ in 0..100 {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => match element.text().await {
                    Ok(text) => return text,
                    Err(e) => last_error = e.to_string(),
                },
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {css} on the page: {last_error}");
    }

    /// Waits until the page's heading is `title` (after a click or a submit, the next
    /// page), and fails if it never is.
    pub async fn expect_title(&self, title: &str) {
        let mut seen = String::new();
        for _ in 0..100 {
            seen = self.text("h1").await;
            if seen == title {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page's title is {seen:?}, not {title:?}");
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    /// What the browser logged since the last call: console errors, failed requests and
    /// refused scripts or styles all land here.
    pub async fn severe_log(&self) -> Vec<String> {
        let logged = self.client.issue_cmd(BrowserLog).await.unwrap();
        logged
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE" || entry["level"] == "WARNING")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
        self.shutdown.cancel();
    }
}

fn chromium() -> String {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_owned)
        .or_else(|| which("chromium"))
        .unwrap_or_else(|| "chromium".into())
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("screenshots")
}

/// chromedriver's log of the browser (`goog:loggingPrefs`), which W3C WebDriver lacks.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// The page's JSON-free value of a script.
pub async fn script(browser: &Browser, code: &str) -> Value {
    browser.client.execute(code, vec![]).await.unwrap()
}
