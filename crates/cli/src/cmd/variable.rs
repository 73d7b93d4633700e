//! `railyard variable ...`: named values that tasks use as `${var.NAME}`. For a run of application A in
//! environment E, E's value wins over A's, which wins over the global one.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::seg;
use crate::config::Context;
use crate::output;

/// Which scope a variable belongs to (global when neither is given).
#[derive(Args, Clone, Default)]
pub struct ScopeArgs {
    /// The environment's variable, e.g. --environment prod.
    #[arg(long, conflicts_with = "application")]
    environment: Option<String>,
    /// The application's variable (its key), e.g. --application PAY.
    #[arg(long)]
    application: Option<String>,
}

impl ScopeArgs {
    pub(crate) fn scope(&self) -> Value {
        match (&self.environment, &self.application) {
            (Some(e), _) => json!({"kind": "environment", "environment": e}),
            (None, Some(a)) => json!({"kind": "application", "application": a}),
            (None, None) => json!({"kind": "global"}),
        }
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        match (&self.environment, &self.application) {
            (Some(e), _) => vec![("environment", e.clone())],
            (None, Some(a)) => vec![("application", a.clone())],
            (None, None) => vec![("global", "true".to_string())],
        }
    }
}

#[derive(Subcommand)]
pub enum VariableCmd {
    /// List variables: all of them, or those of one scope.
    List {
        /// Only the variables of this environment.
        #[arg(long, conflicts_with_all = ["application", "global"])]
        environment: Option<String>,
        /// Only the variables of this application (its key).
        #[arg(long, conflicts_with = "global")]
        application: Option<String>,
        /// Only the global variables.
        #[arg(long)]
        global: bool,
    },
    /// Create a variable, or change its value when the scope has one of that name.
    Set {
        /// Letters, digits and '_', not starting with a digit; at most 64 characters.
        name: String,
        /// The value (text, at most 8 KiB); tasks see it where they write ${var.NAME}.
        value: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Delete a variable (tasks that name it then fail at launch, naming it).
    Delete {
        /// The variable's name.
        name: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
}

/// The variable of this name in this scope, if any (page after page of the scope's list).
async fn find(ctx: &Context, scope: &ScopeArgs, name: &str) -> anyhow::Result<Option<Value>> {
    let mut query = scope.query();
    query.push(("limit", "500".to_string()));
    loop {
        let page = ctx.client.get("/api/v1/variables", &query).await?;
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

pub async fn run(ctx: &Context, cmd: VariableCmd) -> anyhow::Result<()> {
    let c = &ctx.client;
    match cmd {
        VariableCmd::List { environment, application, global } => {
            let mut q: Vec<(&str, String)> = Vec::new();
            q.extend(environment.map(|e| ("environment", e)));
            q.extend(application.map(|a| ("application", a)));
            if global {
                q.push(("global", "true".into()));
            }
            let v = c.get("/api/v1/variables", &q).await?;
            ctx.show(&v, output::variables);
        }
        VariableCmd::Set { name, value, scope } => {
            let v = match find(ctx, &scope, &name).await? {
                Some(old) => {
                    let id = old["id"].as_str().unwrap_or_default();
                    let version = old["version"].as_i64().unwrap_or(0);
                    c.patch(&format!("/api/v1/variables/{}", seg(id)), json!({"value": value}), version).await?
                }
                None => {
                    let body = json!({"name": name, "value": value, "scope": scope.scope()});
                    c.post("/api/v1/variables", Some(body)).await?
                }
            };
            ctx.show(&v, output::variable);
        }
        VariableCmd::Delete { name, scope } => {
            let Some(old) = find(ctx, &scope, &name).await? else {
                anyhow::bail!("there is no variable {name} in that scope; see `railyard variable list`");
            };
            let id = old["id"].as_str().unwrap_or_default();
            c.delete(&format!("/api/v1/variables/{}", seg(id))).await?;
            ctx.show(&json!({"deleted": id, "name": name}), |v| {
                println!("Deleted {} ({}).", output::s(&v["name"]), output::s(&v["deleted"]))
            });
        }
    }
    Ok(())
}
