//! `railyard login|whoami|user|token|audit ...`

use anyhow::bail;
use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::{put, seg};
use crate::config::{self, Context, Saved};
use crate::output;

#[derive(Subcommand)]
pub enum UserCmd {
    /// Create a user (admins).
    Create {
        /// The user's login name, e.g. rita.
        name: String,
        /// admin, release_manager, release_engineer, product_owner, developer, viewer. Repeatable.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The name shown, e.g. "Rita Alvarez".
        #[arg(long)]
        display_name: Option<String>,
        /// Their e-mail address.
        #[arg(long)]
        email: Option<String>,
    },
    /// List users.
    List {
        /// How many to list at most (1 to 500; default 50).
        #[arg(long)]
        limit: Option<u32>,
        /// Where to go on: the `--cursor` the previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Show a user.
    Show {
        /// The user's login name, e.g. rita.
        name: String,
    },
    /// Change a user (admins).
    Update {
        /// The user's login name, e.g. rita.
        name: String,
        /// Replaces the roles.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// The name shown, e.g. "Rita Alvarez".
        #[arg(long)]
        display_name: Option<String>,
        /// Their e-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Disable the user: their tokens and sessions stop working.
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Enable a disabled user.
        #[arg(long)]
        enable: bool,
    },
    /// Set a user's password for the web console (admins). The password is read from standard input
    /// (one line, 12 characters or more), never from the command line.
    SetPassword {
        /// The user's login name, e.g. rita.
        name: String,
        /// Read the password from standard input (required: the only way a password is taken).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Create an API token; the secret is printed once.
    Create {
        /// What the token is for, e.g. laptop or ci.
        #[arg(long, default_value = "")]
        label: String,
        /// Admins: for another user.
        #[arg(long)]
        user: Option<String>,
    },
    /// List your API tokens (admins: another user's).
    List {
        /// Admins: another user's tokens.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke an API token: it stops working at once.
    Revoke {
        /// The token, e.g. TK-2.
        id: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// List audit events, oldest first.
    List {
        /// An object id, e.g. RT-3.
        #[arg(long)]
        object: Option<String>,
        /// Only events of this kind of object, e.g. train, approval, user, token.
        #[arg(long)]
        object_kind: Option<String>,
        /// Only events by this user (or system, or local:<os user>).
        #[arg(long)]
        actor: Option<String>,
        /// Only the events of one commit (one change).
        #[arg(long)]
        commit: Option<i64>,
        /// Events at or after this time: RFC 3339, e.g. 2027-03-01T00:00:00Z.
        #[arg(long, value_name = "TIME", value_parser = crate::when::time)]
        from: Option<String>,
        /// Events before this time: RFC 3339.
        #[arg(long, value_name = "TIME", value_parser = crate::when::time)]
        to: Option<String>,
        /// How many to list at most (1 to 500; default 50).
        #[arg(long)]
        limit: Option<u32>,
        /// Where to go on: the `--cursor` the previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Verify the whole log: the hash chain, that it ends at the stored head, and every record against
    /// the changes that wrote it. Exits non-zero when anything does not verify.
    Verify {
        /// A head printed earlier by `railyard audit head` and kept elsewhere (SEQ:HASH): it must still
        /// be in the chain. This catches what the database alone cannot: the newest events, the records
        /// they wrote and the stored head all put back to an older state.
        #[arg(long, value_name = "SEQ:HASH")]
        expect: Option<String>,
    },
    /// Print the chain head (seq and hash of the newest event) to keep outside the database, e.g. in a
    /// ticket, a chat message or another system; check it later with `audit verify --expect`.
    Head,
}

pub async fn login(ctx: &Context) -> anyhow::Result<()> {
    let Some(token) = &ctx.token else {
        bail!("give the token to save: railyard login --server URL --token TOKEN");
    };
    let me = ctx.client.get("/api/v1/users/me", &[]).await?;
    let path = config::save(&Saved { server: Some(ctx.server.clone()), token: Some(token.clone()) })?;
    println!("Logged in to {} as {}; saved to {}", ctx.server, output::s(&me["name"]), path.display());
    Ok(())
}

/// How to log in, for whoever is not.
const LOG_IN: &str = "log in with: railyard login --server URL --token TOKEN";

pub async fn whoami(ctx: &Context) -> anyhow::Result<()> {
    if ctx.token.is_none() {
        bail!("not logged in: no token given (--token, RAILYARD_TOKEN) and none saved; {LOG_IN}");
    }
    let me = match ctx.client.get("/api/v1/users/me", &[]).await {
        Ok(me) => me,
        Err(railyard_client::ClientError::Problem { status, detail, .. }) if status.as_u16() == 401 => {
            bail!("{} does not accept the token: {detail}; {LOG_IN}", ctx.server)
        }
        Err(railyard_client::ClientError::Transport(e)) => bail!("{e}\nIs the server running? Or {LOG_IN}"),
        Err(e) => return Err(e.into()),
    };
    ctx.show(&me, output::user);
    Ok(())
}

pub async fn inbox(ctx: &Context) -> anyhow::Result<()> {
    let v = ctx.client.get("/api/v1/me/inbox", &[]).await?;
    ctx.show(&v, output::inbox);
    Ok(())
}

pub async fn user(ctx: &Context, cmd: UserCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let v = match cmd {
        UserCmd::Create { name, roles, display_name, email } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("roles".into(), json!(roles));
            put(&mut body, "display_name", display_name);
            put(&mut body, "email", email);
            c.post("/api/v1/users", Some(Value::Object(body))).await?
        }
        UserCmd::List { limit, cursor } => {
            let mut q = Vec::new();
            q.extend(limit.map(|s| ("limit", s.to_string())));
            q.extend(cursor.map(|s| ("cursor", s)));
            let v = c.get("/api/v1/users", &q).await?;
            ctx.show(&v, output::users);
            return Ok(());
        }
        UserCmd::Show { name } => c.get(&format!("/api/v1/users/{}", seg(&name)), &[]).await?,
        UserCmd::Update { name, roles, display_name, email, disable, enable } => {
            let path = format!("/api/v1/users/{}", seg(&name));
            let current = c.get(&path, &[]).await?;
            let mut body = Map::new();
            if !roles.is_empty() {
                body.insert("roles".into(), json!(roles));
            }
            put(&mut body, "display_name", display_name);
            put(&mut body, "email", email);
            if disable || enable {
                body.insert("active".into(), json!(enable));
            }
            c.patch(&path, Value::Object(body), current["version"].as_i64().unwrap_or(0)).await?
        }
        UserCmd::SetPassword { name, password_stdin: _ } => {
            let password = read_password()?;
            c.post(&format!("/api/v1/users/{}/password", seg(&name)), Some(json!({"password": password}))).await?;
            println!("Password of {name} set.");
            return Ok(());
        }
    };
    ctx.show(&v, output::user);
    Ok(())
}

/// The first line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on standard input: pipe it in, e.g. railyard user set-password NAME < file");
    }
    Ok(password)
}

pub async fn token(ctx: &Context, cmd: TokenCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    let v = match cmd {
        TokenCmd::Create { label, user } => {
            let mut body = Map::new();
            body.insert("label".into(), json!(label));
            put(&mut body, "user", user);
            c.post("/api/v1/tokens", Some(Value::Object(body))).await?
        }
        TokenCmd::List { user } => {
            let q: Vec<(&str, String)> = user.map(|u| ("user", u)).into_iter().collect();
            let v = c.get("/api/v1/tokens", &q).await?;
            ctx.show(&v, output::tokens);
            return Ok(());
        }
        TokenCmd::Revoke { id } => c.post(&format!("/api/v1/tokens/{}/revoke", seg(&id)), None).await?,
    };
    ctx.show(&v, output::token);
    Ok(())
}

pub async fn audit(ctx: &Context, cmd: AuditCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    match cmd {
        AuditCmd::List { object, object_kind, actor, commit, from, to, limit, cursor } => {
            let mut q = Vec::new();
            q.extend(object.map(|s| ("object", s)));
            q.extend(object_kind.map(|s| ("object_kind", s)));
            q.extend(actor.map(|s| ("actor", s)));
            q.extend(commit.map(|s| ("commit", s.to_string())));
            q.extend(from.map(|s| ("from", s)));
            q.extend(to.map(|s| ("to", s)));
            q.extend(limit.map(|s| ("limit", s.to_string())));
            q.extend(cursor.map(|s| ("cursor", s)));
            let v = c.get("/api/v1/audit/events", &q).await?;
            ctx.show(&v, output::events);
        }
        AuditCmd::Verify { expect } => {
            let q: Vec<(&str, String)> = expect.map(|e| ("expect", e)).into_iter().collect();
            let v = c.get("/api/v1/audit/verify", &q).await?;
            ctx.show(&v, output::chain);
            if v["intact"].as_bool() != Some(true) {
                bail!("the audit log does not verify");
            }
        }
        AuditCmd::Head => {
            let v = c.get("/api/v1/audit/head", &[]).await?;
            ctx.show(&v, output::audit_head);
        }
    }
    Ok(())
}
