//! `railyard`: the server (`serve`) and a client for its REST API.

mod cmd;
mod config;
mod flags;
mod harden;
#[cfg(test)]
mod help;
mod output;
mod say;
mod serve;
mod when;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use crate::cmd::{
    admin, approval, deployment, environment, inventory, recovery, release, runner, secret, train, turnover, variable,
    work_item,
};
use crate::output::Format;

/// The heading of the options every command takes, apart from each command's own.
const GLOBAL: &str = "Global options";

#[derive(Parser)]
#[command(
    name = "railyard",
    version,
    about = "Release orchestration: release trains, gates, approvals and their audit log"
)]
struct Cli {
    /// The server to talk to (client commands); default: the one saved by `railyard login`, else
    /// http://127.0.0.1:8080.
    #[arg(long, global = true, env = "RAILYARD_SERVER", value_name = "URL", help_heading = GLOBAL)]
    server: Option<String>,
    /// API token (client commands); default: the one saved by `railyard login`. For `railyard runner`,
    /// the runner's token: every local user can read a command line, so prefer --token-file or
    /// RAILYARD_RUNNER_TOKEN there.
    #[arg(long, global = true, env = "RAILYARD_TOKEN", hide_env_values = true, help_heading = GLOBAL)]
    token: Option<String>,
    /// How to print results: a table for people, or the server's JSON.
    #[arg(long, global = true, value_enum, default_value = "table", help_heading = GLOBAL)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the Railyard server.
    ///
    /// On first start with an empty database it creates the `admin` user and a bootstrap API token:
    /// RAILYARD_ADMIN_TOKEN's value (which `serve` then removes from its own environment), or a new
    /// one printed once. The bootstrap token is for the first start only: it stops working once an
    /// admin creates another admin token, or another user can act as an admin with a password or a
    /// token of their own.
    Serve(serve::ServeArgs),
    /// Demo data.
    #[command(subcommand)]
    Demo(DemoCmd),
    /// Save the server and token for later commands.
    Login,
    /// Who the token belongs to.
    Whoami,
    /// What waits for me: approvals to decide, exit criteria and milestones I own.
    Inbox,
    /// Release trains.
    #[command(subcommand)]
    Train(train::TrainCmd),
    /// Stage gates of a train.
    #[command(subcommand)]
    Gate(train::GateCmd),
    /// Exit criteria of a train's gates.
    #[command(subcommand)]
    Criterion(train::CriterionCmd),
    /// Milestones of a train (RT-…) or an application release (AR-…).
    #[command(subcommand)]
    Milestone(train::MilestoneCmd),
    /// Applications.
    #[command(subcommand)]
    App(release::AppCmd),
    /// Application releases.
    #[command(subcommand)]
    Release(release::ReleaseCmd),
    /// Work items of an application release.
    #[command(subcommand)]
    WorkItem(work_item::WorkItemCmd),
    /// Environments and their calendars.
    #[command(subcommand)]
    Env(environment::EnvCmd),
    /// Deployment paths.
    #[command(subcommand)]
    Path(environment::PathCmd),
    /// Turnovers: packages of deployment tasks.
    #[command(subcommand)]
    Turnover(turnover::TurnoverCmd),
    /// Deployment tasks of a turnover.
    #[command(subcommand)]
    Task(turnover::TaskCmd),
    /// Runbooks: reusable, reviewed task lists.
    #[command(subcommand)]
    Runbook(turnover::RunbookCmd),
    /// Variables: values tasks use as ${var.NAME}, global or per environment or application.
    #[command(subcommand)]
    Variable(variable::VariableCmd),
    /// Secrets: values tasks use as ${secret.NAME}, encrypted at rest and never shown; and rotate-key.
    #[command(subcommand)]
    Secret(secret::SecretCmd),
    /// Schedule a turnover's next deployment (the engine runs it).
    Deploy {
        /// The turnover, e.g. TO-1.
        turnover: String,
        /// Optional stages to skip.
        #[arg(long = "skip")]
        skip: Vec<String>,
    },
    /// Deployments: list, show, watch, logs, retry, abandon, validate.
    #[command(subcommand)]
    Deployment(deployment::DeploymentCmd),
    /// Task runs: complete a manual run.
    #[command(subcommand)]
    Run(deployment::RunCmd),
    /// Stop the line (halt every deployment that has not started, rollbacks excepted) and resume it.
    #[command(subcommand)]
    Line(deployment::LineCmd),
    /// What is deployed where: artifact versions per application and environment, and each cell's
    /// history (`inventory show APP ENV`).
    Inventory(inventory::InventoryArgs),
    /// Approvals.
    #[command(subcommand)]
    Approval(approval::ApprovalCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(admin::AuditCmd),
    /// Users (admins).
    #[command(subcommand)]
    User(admin::UserCmd),
    /// API tokens.
    #[command(subcommand)]
    Token(admin::TokenCmd),
    /// Remote runners: run this host as one (`railyard runner --server URL --token-file FILE`), or
    /// register, list and revoke them.
    Runner(runner::RunnerArgs),
    /// Local administration on the database's host, without a server: recover a lost admin token.
    #[command(subcommand)]
    Admin(recovery::AdminCmd),
    /// Print a shell completion script, e.g. `railyard completions bash > /etc/bash_completion.d/railyard`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(clap::Subcommand)]
enum DemoCmd {
    /// Load the demo company, with months of history, into a new, empty database (before a server uses
    /// it; `railyard serve --demo` does the same at start). A database that holds anything is refused.
    Load {
        /// The new database: sqlite://PATH (created) or postgres://USER@HOST/DB (set a password in
        /// RAILYARD_DATABASE instead).
        #[arg(long, env = "RAILYARD_DATABASE", hide_env_values = true)]
        database: String,
    },
}

fn main() -> std::process::ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // What the command that runs calls its options, to name them in the server's input errors.
    let invoked = flags::Invoked::of(&Cli::command(), &matches);
    // Before any other thread exists: the bootstrap token leaves the environment (tasks and anything
    // else reading this process's environment never see it).
    let admin_token = match &cli.command {
        Command::Serve(_) => serve::take_admin_token(),
        _ => None,
    };
    // The same for a runner's token; and a runner's `--token` counts only when typed, never from
    // RAILYARD_TOKEN (a user's).
    let runner_tokens = match &cli.command {
        Command::Runner(r) if r.command.is_none() => Some(runner::TokenSources {
            argv: cli.token.clone().filter(|_| typed(&matches, "token")),
            env: runner::take_token_env(),
        }),
        _ => None,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, admin_token, runner_tokens)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let e = match e.downcast::<railyard_client::ClientError>() {
                Ok(client_error) => invoked.error(client_error),
                Err(other) => other,
            };
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether the option `id` was typed on the command line (of any subcommand, for a global one).
fn typed(matches: &clap::ArgMatches, id: &str) -> bool {
    let mut m = Some(matches);
    while let Some(here) = m {
        if here.try_contains_id(id).unwrap_or(false)
            && here.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
        {
            return true;
        }
        m = here.subcommand().map(|(_, sub)| sub);
    }
    false
}

async fn run(cli: Cli, admin_token: Option<String>, runner_tokens: Option<runner::TokenSources>) -> anyhow::Result<()> {
    if let Command::Serve(args) = cli.command {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("RAILYARD_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .init();
        return serve::run(args, admin_token).await;
    }
    // Only a runner (`railyard runner` without a subcommand) has its tokens taken.
    if let Some(tokens) = runner_tokens {
        let Command::Runner(args) = cli.command else { return Ok(()) };
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("RAILYARD_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            )
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init();
        return runner::serve(args.agent, cli.server, tokens).await;
    }
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "railyard", &mut std::io::stdout());
            return Ok(());
        }
        Command::Admin(c) => return recovery::run(c, cli.output).await,
        Command::Secret(c @ secret::SecretCmd::RotateKey { .. }) => return secret::rotate_key(c, cli.output).await,
        _ => {}
    }
    let ctx = config::Context::resolve(cli.server, cli.token, cli.output)?;
    match cli.command {
        Command::Serve(_) => Ok(()),
        Command::Demo(DemoCmd::Load { database }) => {
            crate::harden::refuse_password_in_argv(&database)?;
            let store = serve::DatabaseUrl::parse(&database)?.open().await?;
            println!("Loading the demo company ({} days of history) ...", railyard_demo::HISTORY_DAYS);
            let loaded = railyard_demo::load_into(store, None, None).await?;
            if let Some(token) = &loaded.admin_token {
                println!("Created the admin user; its API token (shown this once): {token}");
            }
            railyard_demo::print_people(&loaded.people, "<the server's address>");
            Ok(())
        }
        Command::Login => admin::login(&ctx).await,
        Command::Whoami => admin::whoami(&ctx).await,
        Command::Inbox => admin::inbox(&ctx).await,
        Command::Train(c) => train::train(&ctx, c).await,
        Command::Gate(c) => train::gate(&ctx, c).await,
        Command::Criterion(c) => train::criterion(&ctx, c).await,
        Command::Milestone(c) => train::milestone(&ctx, c).await,
        Command::App(c) => release::app(&ctx, c).await,
        Command::Release(c) => release::release(&ctx, c).await,
        Command::WorkItem(c) => work_item::run(&ctx, c).await,
        Command::Env(c) => environment::env(&ctx, c).await,
        Command::Path(c) => environment::path(&ctx, c).await,
        Command::Turnover(c) => turnover::turnover(&ctx, c).await,
        Command::Task(c) => turnover::task(&ctx, c).await,
        Command::Runbook(c) => turnover::runbook(&ctx, c).await,
        Command::Variable(c) => variable::run(&ctx, c).await,
        Command::Secret(c) => secret::run(&ctx, c).await,
        Command::Deploy { turnover, skip } => deployment::deploy(&ctx, &turnover, skip).await,
        Command::Deployment(c) => deployment::deployment(&ctx, c).await,
        Command::Run(c) => deployment::run(&ctx, c).await,
        Command::Line(c) => deployment::line(&ctx, c).await,
        Command::Inventory(a) => inventory::run(&ctx, a).await,
        Command::Approval(c) => approval::run(&ctx, c).await,
        Command::Audit(c) => admin::audit(&ctx, c).await,
        Command::User(c) => admin::user(&ctx, c).await,
        Command::Token(c) => admin::token(&ctx, c).await,
        Command::Runner(r) => match r.command {
            Some(c) => runner::run(&ctx, c).await,
            None => Ok(()),
        },
        Command::Completions { .. } | Command::Admin(_) => Ok(()),
    }
}
