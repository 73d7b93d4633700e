//! Every command and every option says what it is for: the whole command tree is walked, and one
//! argument or subcommand without help text fails the test, naming it.

use clap::CommandFactory as _;

use crate::{Cli, GLOBAL};

fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>, seen: &mut usize) {
    for arg in cmd.get_arguments() {
        *seen += 1;
        let has_help = arg.get_help().is_some_and(|h| !h.to_string().trim().is_empty())
            || arg.get_long_help().is_some_and(|h| !h.to_string().trim().is_empty());
        if !has_help && !arg.is_hide_set() {
            let name = arg.get_long().map_or_else(|| arg.get_id().to_string().to_uppercase(), |l| format!("--{l}"));
            missing.push(format!("{path} {name}"));
        }
    }
    // clap's own `help` subcommand repeats the tree; its entries are clap's.
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let sub_path = format!("{path} {}", sub.get_name());
        *seen += 1;
        if sub.get_about().is_none_or(|a| a.to_string().trim().is_empty()) {
            missing.push(format!("{sub_path} (the command itself)"));
        }
        walk(sub, &sub_path, missing, seen);
    }
}

#[test]
fn every_option_and_command_has_help() {
    let cli = Cli::command();
    cli.clone().debug_assert();
    let (mut missing, mut seen) = (Vec::new(), 0);
    walk(&cli.clone().build_for_help(), "railyard", &mut missing, &mut seen);
    assert!(seen > 300, "only {seen} arguments and commands walked");
    assert!(missing.is_empty(), "{} without help text:\n{}", missing.len(), missing.join("\n"));
}

#[test]
fn global_options_are_listed_apart() {
    let mut cli = Cli::command();
    for long in ["server", "token", "output"] {
        let arg = cli.get_arguments().find(|a| a.get_long() == Some(long)).expect(long);
        assert_eq!(arg.get_help_heading(), Some(GLOBAL), "--{long}");
        assert!(arg.is_global_set(), "--{long}");
    }
    cli.build();
    let create = cli.find_subcommand_mut("train").and_then(|t| t.find_subcommand_mut("create")).expect("train create");
    let help = create.render_help().to_string();
    let (own, global) = help.split_once("Global options:").expect("a Global options section");
    assert!(own.contains("--scoping-end") && !own.contains("--token"), "{help}");
    assert!(global.contains("--token") && global.contains("--server") && !global.contains("--scoping-end"), "{help}");
}

trait BuildForHelp {
    fn build_for_help(self) -> Self;
}

impl BuildForHelp for clap::Command {
    /// The tree as clap shows it: global options propagated, `help` subcommands added.
    fn build_for_help(mut self) -> Self {
        self.build();
        self
    }
}
