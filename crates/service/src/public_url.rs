//! The URL people reach Railyard at (`--public-url`), when it is not the address `serve` listens on:
//! behind a reverse proxy or a load balancer, typically with HTTPS.
//!
//! The console uses its origin to judge a form post's `Origin` header, and its scheme to mark cookies
//! `Secure`. Only an origin is accepted: `http` or `https`, a host, an optional port, and no path
//! beyond `/` (Railyard serves from the root of its host).

use std::fmt;
use std::str::FromStr;

/// A validated public URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
    https: bool,
}

impl PublicUrl {
    /// `scheme://host[:port]`, the default port left out, as browsers send it in `Origin`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether people reach Railyard over HTTPS (its cookies are then `Secure`).
    pub fn is_https(&self) -> bool {
        self.https
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let url = url::Url::parse(text).map_err(|e| {
            format!("'{text}' is not a URL ({e}): give the address people open, e.g. https://railyard.example.com")
        })?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(format!("'{text}' uses '{other}': the public URL must be http or https")),
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("'{text}' has no host: give e.g. https://railyard.example.com"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("'{text}' carries a user name or password: give the address only"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "'{text}' has a path, query or fragment: Railyard is served from the root of its host, so give \
                 the scheme, host and port only (no path beyond '/')"
            ));
        }
        Ok(PublicUrl { origin: url.origin().ascii_serialization(), https })
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::PublicUrl;

    #[test]
    fn origins_only() {
        let u: PublicUrl = "https://Railyard.Example.com:443/".parse().unwrap();
        assert_eq!((u.origin(), u.is_https()), ("https://railyard.example.com", true));
        let u: PublicUrl = "http://10.0.0.5:8080".parse().unwrap();
        assert_eq!((u.origin(), u.is_https()), ("http://10.0.0.5:8080", false));
        for (bad, says) in [
            ("ftp://x.example", "http or https"),
            ("https://x.example/railyard", "no path"),
            ("https://x.example/?a=1", "no path"),
            ("railyard.example.com", "not a URL"),
            ("https://u:p@x.example", "user name"),
        ] {
            let e = bad.parse::<PublicUrl>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
