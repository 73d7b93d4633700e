//! `railyard secret ...`: values tasks use as `${secret.NAME}`, encrypted at rest and never shown; and
//! the secret key: which one `serve` uses ([`serve_key`]) and `rotate-key`, which re-encrypts every
//! secret with a new key on the server's host.
//!
//! A value is never taken on the command line: every local user can read a process's arguments. It
//! comes from a file (`--value-file`) or standard input (`--from-stdin`).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Subcommand;
use railyard_service::{SecretKey, SecretKeyError, Service};
use serde_json::{Value, json};

use super::seg;
use super::variable::ScopeArgs;
use crate::config::Context;
use crate::output::{self, Format};
use crate::serve::DatabaseUrl;

#[derive(Subcommand)]
pub enum SecretCmd {
    /// List secrets (name, scope, version, who changed it when; never a value): all, or one scope's.
    List {
        /// Only the secrets of this environment.
        #[arg(long, conflicts_with_all = ["application", "global"])]
        environment: Option<String>,
        /// Only the secrets of this application (its key).
        #[arg(long, conflicts_with = "global")]
        application: Option<String>,
        /// Only the global secrets.
        #[arg(long)]
        global: bool,
    },
    /// Create a secret, or replace its value when the scope has one of that name. The value comes from
    /// a file or standard input, never from the command line (every local user can read a process's
    /// arguments); one trailing newline is dropped.
    Set {
        /// Letters, digits and '_', not starting with a digit; at most 64 characters.
        name: String,
        /// Read the value from this file (4 bytes to 8 KiB of text, no NUL).
        #[arg(long, value_name = "FILE", conflicts_with = "from_stdin", required_unless_present = "from_stdin")]
        value_file: Option<PathBuf>,
        /// Read the value from standard input.
        #[arg(long)]
        from_stdin: bool,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Delete a secret (tasks that name it then fail at hand-off, naming it).
    Delete {
        /// The secret's name.
        name: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Re-encrypt every secret with a new key, in one commit, on the server's host (no server
    /// involved). Creates the new key file (mode 0600) when absent. If any secret does not decrypt with
    /// the old key, nothing is written. Then point RAILYARD_SECRET_KEY_FILE at the new file and restart
    /// every server.
    RotateKey {
        /// The new key file (created, mode 0600, when absent).
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
        /// The database, as `serve` takes it: sqlite://PATH (an existing file) or
        /// postgres://USER@HOST/DB (a URL with a password only in RAILYARD_DATABASE).
        #[arg(long, env = "RAILYARD_DATABASE", hide_env_values = true, value_name = "URL")]
        database: String,
        /// The current key file [default for SQLite: the database file's path with .secret-key added].
        #[arg(long, env = "RAILYARD_SECRET_KEY_FILE", value_name = "FILE")]
        secret_key_file: Option<PathBuf>,
    },
}

/// Where `serve` looks for the key when none is named: beside the SQLite file (`railyard.db.secret-key`).
pub fn default_key_file(db: &DatabaseUrl) -> Option<PathBuf> {
    match db {
        DatabaseUrl::Sqlite(path) => {
            let mut p = path.clone().into_os_string();
            p.push(".secret-key");
            Some(PathBuf::from(p))
        }
        DatabaseUrl::Postgres(_) => None,
    }
}

/// The key `serve` encrypts secrets with: the named file, or for SQLite the one beside the database,
/// created on first start. Never a new key over existing secrets: a database with secrets and a key
/// file that is missing (or none named, on PostgreSQL) refuses to start; so does a key that is not
/// the one the secrets were encrypted with. PostgreSQL without a named file and without secrets starts
/// without a key (setting a secret is then refused, naming RAILYARD_SECRET_KEY_FILE).
pub async fn serve_key(
    db: &DatabaseUrl,
    named: Option<PathBuf>,
    service: &Service,
) -> anyhow::Result<Option<SecretKey>> {
    let count = service.secret_count().await.context("cannot count the database's secrets")?;
    let Some(path) = named.or_else(|| default_key_file(db)) else {
        if count > 0 {
            bail!(
                "this database has {count} secrets; name their key with RAILYARD_SECRET_KEY_FILE (or --secret-key-file)"
            );
        }
        return Ok(None);
    };
    let key = match SecretKey::load_or_create(&path, count == 0) {
        Ok(key) => key,
        Err(SecretKeyError::Missing(p)) => bail!(
            "this database has {count} secrets, but the secret key file {} does not exist; name their key with \
             RAILYARD_SECRET_KEY_FILE (a new key would not decrypt them)",
            p.display()
        ),
        Err(e) => return Err(e.into()),
    };
    let fingerprints = service.secret_key_fingerprints().await?;
    if let Some(other) = fingerprints.iter().find(|f| f.as_str() != key.fingerprint()) {
        bail!(
            "this database's secrets were encrypted with key fingerprint {other}; the key in {} has fingerprint {}: \
             name their key with RAILYARD_SECRET_KEY_FILE",
            path.display(),
            key.fingerprint()
        );
    }
    Ok(Some(key))
}

/// The value from a file or standard input, without one trailing newline.
fn read_value(file: Option<&Path>) -> anyhow::Result<String> {
    let mut value = match file {
        Some(f) => std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?,
        None => {
            let mut v = String::new();
            std::io::stdin().read_to_string(&mut v).context("cannot read the value from standard input")?;
            v
        }
    };
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(value)
}

/// The secret of this name in this scope, if any.
async fn find(ctx: &Context, scope: &ScopeArgs, name: &str) -> anyhow::Result<Option<Value>> {
    let mut query = scope.query();
    query.push(("limit", "500".to_string()));
    loop {
        let page = ctx.client.get("/api/v1/secrets", &query).await?;
        if let Some(v) = output::items(&page).iter().find(|v| v["name"] == name) {
            return Ok(Some(v.clone()));
        }
        match page["next_cursor"].as_str() {
            Some(c) => {
                query.retain(|(k, _)| *k != "cursor");
                query.push(("cursor", c.to_string()));
            }
            None => return Ok(None),
        }
    }
}

fn scope_text(v: &Value) -> String {
    let s = &v["scope"];
    match s["kind"].as_str() {
        Some("environment") => format!("environment {}", output::s(&s["environment"])),
        Some("application") => format!("application {}", output::s(&s["application"])),
        _ => "global".to_string(),
    }
}

fn show_list(page: &Value) {
    let rows: Vec<Vec<String>> = output::items(page)
        .iter()
        .map(|v| {
            let changed = format!("{} {}", output::s(&v["changed_by"]), output::s(&v["changed_at"]));
            vec![output::s(&v["id"]), output::s(&v["name"]), scope_text(v), output::s(&v["version"]), changed]
        })
        .collect();
    output::table(&["ID", "NAME", "SCOPE", "VERSION", "CHANGED"], &rows);
    output::more(page);
}

fn show_one(v: &Value) {
    output::kv(&[
        ("id", output::s(&v["id"])),
        ("name", output::s(&v["name"])),
        ("scope", scope_text(v)),
        ("version", output::s(&v["version"])),
        ("changed by", output::s(&v["changed_by"])),
        ("changed at", output::s(&v["changed_at"])),
    ]);
}

pub async fn run(ctx: &Context, cmd: SecretCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    match cmd {
        SecretCmd::List { environment, application, global } => {
            let mut q: Vec<(&str, String)> = Vec::new();
            q.extend(environment.map(|e| ("environment", e)));
            q.extend(application.map(|a| ("application", a)));
            if global {
                q.push(("global", "true".into()));
            }
            let v = c.get("/api/v1/secrets", &q).await?;
            ctx.show(&v, show_list);
        }
        SecretCmd::Set { name, value_file, from_stdin: _, scope } => {
            let value = read_value(value_file.as_deref())?;
            let v = match find(ctx, &scope, &name).await? {
                Some(old) => {
                    let id = old["id"].as_str().unwrap_or_default();
                    let version = old["version"].as_i64().unwrap_or(0);
                    c.patch(&format!("/api/v1/secrets/{}", seg(id)), json!({"value": value}), version).await?
                }
                None => {
                    let body = json!({"name": name, "value": value, "scope": scope.scope()});
                    c.post("/api/v1/secrets", Some(body)).await?
                }
            };
            ctx.show(&v, show_one);
        }
        SecretCmd::Delete { name, scope } => {
            let Some(old) = find(ctx, &scope, &name).await? else {
                bail!("there is no secret {name} in that scope; see `railyard secret list`");
            };
            let id = old["id"].as_str().unwrap_or_default();
            c.delete(&format!("/api/v1/secrets/{}", seg(id))).await?;
            ctx.show(&json!({"deleted": id, "name": name}), |v| {
                println!("Deleted {} ({}).", output::s(&v["name"]), output::s(&v["deleted"]))
            });
        }
        SecretCmd::RotateKey { .. } => {
            bail!("rotate-key runs on the server's host: see `railyard secret rotate-key --help`")
        }
    }
    Ok(())
}

/// `railyard secret rotate-key`: opens the database itself and re-encrypts every secret with the new key
/// through the service, in one commit, recorded in the audit log as `local:<os user>`.
pub async fn rotate_key(cmd: SecretCmd, format: Format) -> anyhow::Result<()> {
    let SecretCmd::RotateKey { new_key_file, database, secret_key_file } = cmd else {
        bail!("not rotate-key");
    };
    crate::harden::refuse_password_in_argv(&database)?;
    let db = DatabaseUrl::parse(&database)?;
    if let DatabaseUrl::Sqlite(path) = &db {
        super::recovery::writable_database(path)?;
    }
    let Some(old_path) = secret_key_file.or_else(|| default_key_file(&db)) else {
        bail!("name the current key with --secret-key-file or RAILYARD_SECRET_KEY_FILE");
    };
    let old = SecretKey::load_or_create(&old_path, false)?;
    let new = SecretKey::load_or_create(&new_key_file, true)?;
    if new.fingerprint() == old.fingerprint() {
        bail!("{} holds the current key (fingerprint {}): name a new file", new_key_file.display(), old.fingerprint());
    }
    let service = Service::new(db.open().await?).with_secret_key(Some(old));
    let rotation = service.rotate_secret_key(&super::recovery::os_user(), &new).await?;
    let view = serde_json::to_value(&rotation).context("cannot show the rotation")?;
    match format {
        Format::Json => output::json(&view),
        Format::Table => {
            println!(
                "Re-encrypted {} secrets in one commit: key fingerprint {} is now {}.",
                rotation.secrets, rotation.old_fingerprint, rotation.new_fingerprint
            );
            println!(
                "Next: point RAILYARD_SECRET_KEY_FILE (or --secret-key-file) at {} and restart every server; keep the old \
                 key until they all run on the new one, then destroy it.",
                new_key_file.display()
            );
        }
    }
    Ok(())
}
