//! Where client commands find their server and token: flags, then `RAILYARD_SERVER`/`RAILYARD_TOKEN`,
//! then the file `railyard login` wrote (`$RAILYARD_CONFIG`, or `~/.config/railyard/config.json`).

use std::path::PathBuf;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::output::Format;
use railyard_client::Client;

pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Saved {
    pub server: Option<String>,
    pub token: Option<String>,
}

pub struct Context {
    pub server: String,
    pub token: Option<String>,
    pub format: Format,
    pub client: Client,
}

pub fn path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("RAILYARD_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("railyard").join("config.json"))
}

fn load() -> Saved {
    path().and_then(|p| std::fs::read_to_string(p).ok()).and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

pub fn save(saved: &Saved) -> anyhow::Result<PathBuf> {
    let p = path().context("cannot tell where to save the login: set RAILYARD_CONFIG or HOME")?;
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // The file holds a token: create it readable by its owner only, before writing the token into it.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&p).with_context(|| format!("cannot write {}", p.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    use std::io::Write as _;
    file.write_all(serde_json::to_string_pretty(saved)?.as_bytes())
        .with_context(|| format!("cannot write {}", p.display()))?;
    Ok(p)
}

impl Context {
    pub fn resolve(server: Option<String>, token: Option<String>, format: Format) -> anyhow::Result<Context> {
        let saved = load();
        let server = server.or(saved.server).unwrap_or_else(|| DEFAULT_SERVER.to_string());
        let token = token.or(saved.token);
        let client = Client::new(&server, token.clone());
        Ok(Context { server, token, format, client })
    }

    /// Prints a result: the JSON as it came, or the human form.
    pub fn show(&self, v: &serde_json::Value, human: fn(&serde_json::Value)) {
        match self.format {
            Format::Json => crate::output::json(v),
            Format::Table => human(v),
        }
    }
}
