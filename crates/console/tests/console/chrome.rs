//! Headless Chromium driven through ChromeDriver's WebDriver protocol (plain JSON over HTTP, so no
//! client library): open pages, fill forms, click, read the page, take screenshots. `scripts/test`
//! installs Debian's `chromium` and `chromium-driver` when they are missing.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::PASSWORD;

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Chrome {
    http: reqwest::Client,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Chrome {
    /// Ends the WebDriver session first, which quits Chromium: killing ChromeDriver alone would leave the
    /// browser and its helper processes running after the test (hundreds of them over a few runs, until
    /// a new browser no longer starts). Drop cannot await, so this is one plain blocking HTTP request.
    fn drop(&mut self) {
        let _ = delete_session(&self.session);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE {session}` over a plain TCP stream, waiting (up to 10 s) for the start of ChromeDriver's
/// answer, which it sends once the browser has quit. (It keeps the connection open, so reading to the
/// end would wait for the timeout.)
fn delete_session(session: &str) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let rest = session.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let mut answer = [0u8; 64];
    let _answered = stream.read(&mut answer)?;
    Ok(())
}

/// Where screenshots go: `target/screenshots` (or under `CARGO_TARGET_DIR`), for a reviewer to look at.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

impl Chrome {
    /// Starts ChromeDriver on a free port and a headless Chromium session at 1280×1000.
    pub async fn start() -> Chrome {
        for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                std::path::Path::new(bin).exists(),
                "{bin} is missing: install Debian's chromium and chromium-driver (scripts/test does)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not answer on {base}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}});
        let res: Value = http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = res["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {res}")).to_string();
        Chrome { http, session: format!("{base}/session/{id}"), driver, _profile: profile }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(res["value"]["error"].is_null(), "webdriver {path}: {res}");
        res["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or_default().to_string()
    }

    /// The elements matching a CSS selector.
    pub async fn all(&self, css: &str) -> Vec<String> {
        let v =
            self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_array().into_iter().flatten().filter_map(|e| e[ELEMENT].as_str().map(str::to_string)).collect()
    }

    pub async fn one(&self, css: &str) -> String {
        let found = self.all(css).await;
        assert!(!found.is_empty(), "nothing matches {css} on {}: {}", self.url().await, self.source().await);
        found[0].clone()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.one(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({"text": text}))).await;
    }

    pub async fn click(&self, css: &str) {
        let el = self.one(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({}))).await;
    }

    /// Opens the dashboard, is sent to the sign-in page, signs in with the tests' password and waits
    /// until the dashboard has loaded.
    pub async fn sign_in(&self, base: &str, name: &str) {
        self.goto(&format!("{base}/")).await;
        assert!(self.url().await.ends_with("/sign-in"), "not signed in: sent to the sign-in page");
        self.type_into("input[name=name]", name).await;
        self.type_into("input[name=password]", PASSWORD).await;
        self.click(r#"form[action="/sign-in"] button"#).await;
        // A click returns once the form is submitted, not once the next page has loaded; navigating away
        // before the answer lands would cancel the sign-in.
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.url().await != format!("{base}/") || !self.loaded().await {
            assert!(Instant::now() < deadline, "never reached the dashboard: {}", self.url().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the page has loaded completely and shows `text`, and returns it. A page's title can
    /// arrive before its body, so the text alone does not say the page is whole.
    pub async fn wait_for_text(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let page = self.loaded_source().await.unwrap_or_default();
            if page.contains(text) {
                return page;
            }
            assert!(Instant::now() < deadline, "the page never showed {text:?}:\n{}", self.source().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the page has loaded completely: a page's title and URL can arrive before its body.
    pub async fn loaded(&self) -> bool {
        self.script("return document.readyState").await == "complete"
    }

    /// The page's HTML once it has loaded completely, read in one step so that a navigation cannot come
    /// between the check and the read; `None` while it is still loading.
    pub async fn loaded_source(&self) -> Option<String> {
        let v =
            self.script("return document.readyState === 'complete' ? document.documentElement.outerHTML : null").await;
        v.as_str().map(str::to_string)
    }

    /// Runs a script in the page and returns what it returns.
    pub async fn script(&self, js: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": js, "args": []}))).await
    }

    /// Resizes the window (its outer size, chrome included).
    pub async fn resize(&self, width: u64, height: u64) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    /// A PNG of the whole page, however long (up to 5,000 px): the window is stretched to the page's
    /// height for the shot, then put back.
    pub async fn full_page_screenshot(&self, name: &str) -> PathBuf {
        let width = self.script("return window.outerWidth").await.as_u64().unwrap_or(1280);
        let height = self.script("return document.documentElement.scrollHeight").await.as_u64().unwrap_or(1000);
        // The window's height includes its chrome; a little extra keeps the bottom in the shot.
        self.resize(width, (height + 120).clamp(1000, 5000)).await;
        let path = self.screenshot(name).await;
        self.resize(width, 1000).await;
        path
    }

    /// A PNG of the whole window, saved under [`screenshot_dir`]; its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or_default()).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}
