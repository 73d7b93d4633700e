//! `railyard inventory`: what is deployed where, and `railyard inventory show APP ENV` for one cell's
//! history.

use clap::{Args, Subcommand};

use super::seg;
use crate::config::Context;
use crate::output;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InventoryArgs {
    #[command(subcommand)]
    pub command: Option<InventoryCmd>,
    /// Only this application's row (its key, e.g. PAY).
    #[arg(long = "app")]
    pub application: Option<String>,
    /// Only this environment's column.
    #[arg(long = "env")]
    pub environment: Option<String>,
    /// How many applications (rows) to show (1 to 500, default 50).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Where the previous page ended (printed under it as `--cursor ...`).
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Subcommand)]
pub enum InventoryCmd {
    /// One cell: what of an application is in an environment now, and every deployment that put
    /// something there, newest first.
    Show {
        /// The application's key, e.g. PAY.
        application: String,
        /// The environment's name, e.g. staging.
        environment: String,
        /// How many deployments of history to show (1 to 500, default 50).
        #[arg(long)]
        limit: Option<u32>,
        /// Where the previous page ended (printed under it as `--cursor ...`).
        #[arg(long)]
        cursor: Option<String>,
    },
}

pub async fn run(ctx: &Context, args: InventoryArgs) -> anyhow::Result<()> {
    let page = |limit: Option<u32>, cursor: Option<String>| {
        let mut q = Vec::new();
        q.extend(limit.map(|l| ("limit", l.to_string())));
        q.extend(cursor.map(|c| ("cursor", c)));
        q
    };
    match args.command {
        Some(InventoryCmd::Show { application, environment, limit, cursor }) => {
            let path = format!("/api/v1/inventory/{}/{}", seg(&application), seg(&environment));
            let v = ctx.client.get(&path, &page(limit, cursor)).await?;
            ctx.show(&v, output::inventory_cell);
        }
        None => {
            let mut q = page(args.limit, args.cursor);
            q.extend(args.application.map(|a| ("application", a)));
            q.extend(args.environment.map(|e| ("environment", e)));
            let v = ctx.client.get("/api/v1/inventory", &q).await?;
            ctx.show(&v, output::inventory);
        }
    }
    Ok(())
}
