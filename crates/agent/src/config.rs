//! What a runner is started with: the server, its token, the labels it serves, how many runs at once,
//! where its tasks work, and how often it asks for work.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::AgentError;

/// How many runs a runner takes at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The most runs a runner takes at once (the protocol's largest `capacity`).
pub const MAX_CONCURRENCY: usize = 64;
/// How often a runner with a free slot asks for work by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// The shortest and longest poll intervals accepted.
pub const POLL_INTERVAL_RANGE: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(60));
/// Whether this build speaks HTTPS. The workspace's `reqwest` is built without a TLS feature, so a
/// runner reaches its server over plain HTTP only: on a trusted network, or through a TLS-terminating
/// proxy or tunnel on the runner's host. An `https://` server is refused at start rather than retried
/// forever. Turning on a TLS feature of `reqwest` turns this on.
pub const HTTPS: bool = false;
/// The longest runner token accepted (a token is `ryrun_` and 64 hex digits).
const MAX_TOKEN_LEN: usize = 512;

/// How a runner runs. Its `Debug` form never shows the token.
#[derive(Clone)]
pub struct AgentConfig {
    /// The server's base URL, e.g. `http://railyard.internal:8080` (see [`HTTPS`]).
    pub server: Url,
    /// The runner's token, as `railyard runner register` printed it.
    pub token: String,
    /// The labels this process serves (a subset of those it was registered with); `None`: all of them.
    pub labels: Option<Vec<String>>,
    /// How many runs it takes at once, 1 to [`MAX_CONCURRENCY`].
    pub concurrency: usize,
    /// Where its tasks get their working directories, and where it records the runs in flight (see
    /// [`crate::records`]); `None`: the runner crate's default work root.
    pub work_dir: Option<PathBuf>,
    /// How long it pauses between two claims while a slot is free (each claim may also wait on the
    /// server for up to [`crate::CLAIM_WAIT`]).
    pub poll_interval: Duration,
}

impl fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentConfig")
            .field("server", &self.server.as_str())
            .field("token", &"<redacted>")
            .field("labels", &self.labels)
            .field("concurrency", &self.concurrency)
            .field("work_dir", &self.work_dir)
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}

impl AgentConfig {
    /// A configuration with the defaults for `server` and `token`, both checked: the server must be an
    /// `http` URL (`https` too, when this build speaks it: [`HTTPS`]) without a user name, password, query or fragment; the token must be one
    /// line of visible ASCII.
    pub fn new(server: &str, token: &str) -> Result<AgentConfig, AgentError> {
        Ok(AgentConfig {
            server: server_url(server)?,
            token: checked_token(token)?,
            labels: None,
            concurrency: DEFAULT_CONCURRENCY,
            work_dir: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
        })
    }

    /// Serves only these labels (see [`parse_labels`]).
    pub fn with_labels(mut self, labels: &str) -> Result<AgentConfig, AgentError> {
        self.labels = Some(parse_labels(labels)?);
        Ok(self)
    }

    /// Takes this many runs at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Result<AgentConfig, AgentError> {
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(AgentError::Config(format!(
                "--concurrency {concurrency} is out of range: a runner takes 1 to {MAX_CONCURRENCY} runs at once"
            )));
        }
        self.concurrency = concurrency;
        Ok(self)
    }

    /// Asks for work this often while a slot is free.
    pub fn with_poll_interval(mut self, interval: Duration) -> Result<AgentConfig, AgentError> {
        let (low, high) = POLL_INTERVAL_RANGE;
        if interval < low || interval > high {
            return Err(AgentError::Config(format!(
                "--poll-interval-ms {} is out of range: {} to {}",
                interval.as_millis(),
                low.as_millis(),
                high.as_millis()
            )));
        }
        self.poll_interval = interval;
        Ok(self)
    }

    /// Gives its tasks working directories under `dir`.
    pub fn with_work_dir(mut self, dir: PathBuf) -> AgentConfig {
        self.work_dir = Some(dir);
        self
    }
}

/// `prod-eu,linux` as its labels, trimmed; an empty list, an empty label or a repeated one is refused
/// (whether each label is one the runner was registered with is the server's to say).
pub fn parse_labels(text: &str) -> Result<Vec<String>, AgentError> {
    let mut labels: Vec<String> = Vec::new();
    for label in text.split(',').map(str::trim) {
        if label.is_empty() {
            return Err(AgentError::Config(format!(
                "--labels '{text}' holds an empty label: name them separated by commas, e.g. prod-eu,linux"
            )));
        }
        if label.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(AgentError::Config(format!("--labels: '{label}' holds a space or a control character")));
        }
        if labels.iter().any(|l| l == label) {
            return Err(AgentError::Config(format!("--labels names '{label}' twice")));
        }
        labels.push(label.to_string());
    }
    Ok(labels)
}

fn server_url(text: &str) -> Result<Url, AgentError> {
    let bad = |why: &str| AgentError::Config(format!("--server '{text}' {why}"));
    let url =
        Url::parse(text.trim()).map_err(|e| bad(&format!("is not a URL ({e}); e.g. http://railyard.internal:8080")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("is not an http:// or https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("holds a user name or password; the runner authenticates with its token only"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("holds a query or fragment; give the server's base URL"));
    }
    if url.scheme() == "https" && !HTTPS {
        return Err(bad(
            "is https://, which this build of railyard cannot speak (it has no TLS); reach the server over \
             http:// on a trusted network, or through a TLS-terminating proxy or tunnel on this host",
        ));
    }
    if url.host().is_none() {
        return Err(bad("names no host"));
    }
    Ok(url)
}

fn checked_token(token: &str) -> Result<String, AgentError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(AgentError::Config(
            "the runner token is empty: pass the token `railyard runner register` printed".into(),
        ));
    }
    if token.len() > MAX_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        // Never echo the value: it may be a secret pasted in the wrong place.
        return Err(AgentError::Config(
            "the runner token is not one: it must be one line of letters and digits, as `railyard runner register` \
             printed it"
                .into(),
        ));
    }
    Ok(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "ryrun_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_and_the_token_is_never_in_debug() {
        let c = AgentConfig::new("http://railyard.example.com/", &format!("  {TOKEN}\n")).unwrap();
        assert_eq!(c.token, TOKEN);
        assert_eq!((c.concurrency, c.poll_interval, c.labels.as_ref()), (4, Duration::from_millis(200), None));
        let debug = format!("{c:?}");
        assert!(!debug.contains("0123456789abcdef") && debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn servers_that_are_not_plain_http_urls_are_refused() {
        for (server, why) in [
            ("railyard.example.com", "is not a URL"),
            ("ftp://railyard.example.com", "http:// or https://"),
            ("http://me:pw@railyard.example.com", "user name or password"),
            ("http://railyard.example.com/?x=1", "query"),
            ("https://railyard.example.com", "no TLS"),
        ] {
            let e = AgentConfig::new(server, TOKEN).unwrap_err().to_string();
            assert!(e.contains(why), "{server}: {e}");
        }
    }

    #[test]
    fn bad_tokens_are_refused_without_being_echoed() {
        for token in ["", "  ", "two words", "line\nbreak", &"x".repeat(600)] {
            let e = AgentConfig::new("http://127.0.0.1:8080", token).unwrap_err().to_string();
            assert!(e.contains("runner token"), "{e}");
            assert!(!e.contains("two words") && !e.contains("xxxx"), "{e}");
        }
    }

    #[test]
    fn labels_concurrency_and_poll_interval_are_checked() {
        let c = AgentConfig::new("http://127.0.0.1:8080", TOKEN).unwrap();
        assert_eq!(parse_labels(" prod-eu, linux ").unwrap(), ["prod-eu", "linux"]);
        for bad in ["", "a,,b", "a,a", "a b"] {
            assert!(parse_labels(bad).is_err(), "{bad:?}");
        }
        assert_eq!(c.clone().with_labels("eu").unwrap().labels, Some(vec!["eu".to_string()]));
        assert!(c.clone().with_concurrency(0).is_err() && c.clone().with_concurrency(65).is_err());
        assert_eq!(c.clone().with_concurrency(64).unwrap().concurrency, 64);
        assert!(c.clone().with_poll_interval(Duration::from_millis(1)).is_err());
        assert!(c.with_poll_interval(Duration::from_millis(50)).is_ok());
    }
}
