//! `railyard admin issue-token`: a new admin token when every admin token is lost, for someone with
//! local access to the database. It opens the database itself (no server involved, one may be running)
//! and issues the token through the service, recorded in the audit log as `local:<os user>`.

use std::path::Path;

use anyhow::{Context as _, bail};
use clap::Subcommand;

use crate::output::{self, Format};
use crate::serve::DatabaseUrl;

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Issue a new API token for an admin user by opening the database directly: the way back in when
    /// every admin token is lost. Needs local access: the SQLite file, writable by you (run it as the
    /// server's user), or the PostgreSQL URL with its credentials. Works while the server runs; the
    /// token is printed once and recorded in the audit log as issued by local:<your OS user>. Like any
    /// admin token, it retires the bootstrap token if that is still live.
    IssueToken {
        /// The database, as `serve` takes it: sqlite://PATH (an existing file) or
        /// postgres://USER@HOST/DB (a URL with a password only in RAILYARD_DATABASE).
        #[arg(long, env = "RAILYARD_DATABASE", hide_env_values = true, value_name = "URL")]
        database: String,
        /// The admin user to issue the token for.
        #[arg(long, default_value = railyard_service::ADMIN_USER, value_name = "NAME")]
        user: String,
    },
}

pub async fn run(cmd: AdminCmd, format: Format) -> anyhow::Result<()> {
    let AdminCmd::IssueToken { database, user } = cmd;
    crate::harden::refuse_password_in_argv(&database)?;
    let db = DatabaseUrl::parse(&database)?;
    if let DatabaseUrl::Sqlite(path) = &db {
        writable_database(path)?;
    }
    let service = railyard_service::Service::new(db.open().await?);
    let issued = match service.issue_recovery_token(&os_user(), &user).await {
        Ok(issued) => issued,
        // As the server's refusals read: the action, then each unmet guard with its code.
        Err(railyard_service::ServiceError::Refused(r)) => {
            let guards: Vec<String> = r.guards.iter().map(|g| format!("\n  - {} [{}]", g.message, g.code)).collect();
            bail!("{} of {} (state {}) refused{}", r.action, r.object, r.state, guards.concat())
        }
        Err(e) => return Err(e.into()),
    };
    let token = issued.token;
    let view = serde_json::to_value(&token).context("cannot show the token")?;
    match format {
        Format::Json => output::json(&view),
        Format::Table => {
            let secret = token.token.as_deref().unwrap_or_default();
            println!(
                "Issued token {} for {}, recorded in the audit log as issued by {}. It is shown this once:",
                token.id, token.user, issued.actor
            );
            println!();
            println!("    {secret}");
            println!();
            println!("Use it with: railyard login --server URL --token {secret}");
        }
    }
    Ok(())
}

/// An existing SQLite file that this user may write: nothing is created, and someone who may only read
/// the database gets no admin token from it.
pub(crate) fn writable_database(path: &Path) -> anyhow::Result<()> {
    match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "there is no database at {}: issue-token opens an existing Railyard database (the one `railyard serve` uses)",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => bail!(
            "cannot write {} as OS user {}: issuing a token needs write access to the database; run it as the user the \
             server runs as",
            path.display(),
            os_user()
        ),
        Err(e) => bail!("cannot open {} for writing: {e}", path.display()),
    }
}

/// The operating-system user running this (by the effective uid; its number when it has no name).
pub(crate) fn os_user() -> String {
    // SAFETY: geteuid cannot fail; getpwuid_r writes into the buffers given, which outlive its result.
    unsafe {
        let uid = libc::geteuid();
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
            return std::ffi::CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned();
        }
        format!("uid {uid}")
    }
}
