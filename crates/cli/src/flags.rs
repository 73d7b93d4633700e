//! The server names a bad field as its JSON path (`schedule.scoping_end`, `release_type`); a person typed
//! flags (`--scoping-end`, `--type`). This turns the server's field errors back into the flags of the
//! command that was run, from that command's own definition, so every command gets it, new ones too.

use railyard_client::{ClientError, FieldProblem};

/// The options of the command that ran: its long flags (without `--`) and its positional arguments.
#[derive(Debug, Default, Clone)]
pub struct Invoked {
    pub longs: Vec<String>,
    pub positionals: Vec<String>,
}

impl Invoked {
    /// The leaf subcommand of `command` that `matches` ran, and its options.
    pub fn of(command: &clap::Command, matches: &clap::ArgMatches) -> Invoked {
        let (mut cmd, mut m) = (command, matches);
        while let Some((name, sub)) = m.subcommand() {
            let Some(next) = cmd.find_subcommand(name) else { break };
            (cmd, m) = (next, sub);
        }
        let mut invoked = Invoked::default();
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                invoked.longs.push(long.to_string());
            } else if arg.is_positional() {
                invoked.positionals.push(arg.get_id().to_string());
            }
        }
        invoked
    }

    /// How the user typed the thing the server calls `segment`, if this command has it.
    fn flag_for(&self, segment: &str) -> Option<String> {
        let mut candidates: Vec<String> = ALIASES
            .iter()
            .filter(|(field, _)| *field == segment)
            .flat_map(|(_, flags)| flags.iter().map(|f| f.to_string()))
            .collect();
        let dashed = segment.replace('_', "-");
        candidates.push(dashed.clone());
        if let Some(single) = dashed.strip_suffix('s') {
            candidates.push(single.to_string());
        }
        if let Some(found) = candidates.iter().find(|c| self.longs.contains(c)) {
            return Some(format!("--{found}"));
        }
        self.positionals.iter().find(|p| **p == segment).map(|p| p.to_uppercase())
    }

    /// A field error in the command's terms: `--scoping-end is required`, `--type: unknown variant ...`.
    pub fn explain(&self, problem: &FieldProblem) -> String {
        let message = strip_position(&problem.message);
        let (path, missing) = match missing_field(message) {
            Some(name) if problem.field == "body" || problem.field == "." => (name.to_string(), true),
            Some(name) => (format!("{}.{name}", problem.field), true),
            None => (problem.field.clone(), false),
        };
        let segments: Vec<&str> = path.split('.').map(|s| s.split('[').next().unwrap_or(s)).collect();
        let flag = segments.iter().rev().find_map(|s| self.flag_for(s));
        match (flag, missing) {
            (Some(flag), true) => format!("{flag} is required"),
            (Some(flag), false) => format!("{flag}: {message}"),
            (None, true) => format!("{path} is required"),
            (None, false) => format!("{}: {message}", problem.field),
        }
    }

    /// The error to print for a failed request: bad input in the command's flags, the rest as it came.
    pub fn error(&self, error: ClientError) -> anyhow::Error {
        match error {
            ClientError::Problem { fields, code, .. } if !fields.is_empty() && code == "invalid_input" => {
                let lines: Vec<String> = fields.iter().map(|f| self.explain(f)).collect();
                match lines.as_slice() {
                    [one] => anyhow::anyhow!("{one}"),
                    many => anyhow::anyhow!("{} problems with the input:\n  - {}", many.len(), many.join("\n  - ")),
                }
            }
            other => other.into(),
        }
    }
}

/// The server's field names whose flags are spelled otherwise (tried before the field name itself, with
/// `_` as `-`, and without a plural `s`).
const ALIASES: &[(&str, &[&str])] = &[
    ("release_type", &["type"]),
    ("release_types", &["type"]),
    ("application", &["app"]),
    ("product_owner", &["owner"]),
    ("reserved_environments", &["reserve"]),
    ("environment", &["env", "environment"]),
    ("environments", &["env", "environment"]),
    ("passed", &["pass", "fail"]),
    ("active", &["enable", "disable"]),
    ("train_id", &["train"]),
    ("depends_on", &["on"]),
    ("approval_policies", &["level"]),
    ("levels", &["level"]),
    ("approvers", &["level"]),
    ("required", &["level"]),
    ("evidence", &["note"]),
    ("window_minutes", &["window"]),
    ("timeout_secs", &["timeout"]),
    ("program", &["run"]),
    ("args", &["run"]),
    ("method", &["http"]),
    ("url", &["http"]),
    ("application_releases", &["release"]),
    ("work_items", &["work-item"]),
    ("password", &["password-stdin"]),
];

/// serde's `missing field `x``, as the server passes it on.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// The message without serde's ` at line 1 column 57`, which means nothing to someone who typed flags.
fn strip_position(message: &str) -> &str {
    let number = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit());
    match message.rfind(" at line ") {
        Some(at) if message[at + 9..].split_once(" column ").is_some_and(|(l, c)| number(l) && number(c)) => {
            &message[..at]
        }
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(field: &str, message: &str) -> FieldProblem {
        FieldProblem { field: field.into(), message: message.into() }
    }

    fn train_create() -> Invoked {
        let longs = ["title", "type", "purpose", "manager", "engineer", "start", "scoping-end", "file"];
        Invoked { longs: longs.iter().map(|s| s.to_string()).collect(), positionals: vec![] }
    }

    #[test]
    fn server_fields_become_the_flags_typed() {
        let cmd = train_create();
        let cases = [
            (("body", "missing field `release_type` at line 1 column 13"), "--type is required"),
            (("schedule", "missing field `scoping_end` at line 1 column 57"), "--scoping-end is required"),
            (
                ("schedule.start", "input contains invalid characters at line 1 column 139"),
                "--start: input contains invalid characters",
            ),
            (("engineers[1]", "there is no user 'zed'"), "--engineer: there is no user 'zed'"),
            (("budget", "unknown field"), "budget: unknown field"),
            (("body", "missing field `cost` at line 1 column 2"), "cost is required"),
        ];
        for ((field, message), expected) in cases {
            assert_eq!(cmd.explain(&problem(field, message)), expected, "{field}: {message}");
        }
        let user = Invoked { longs: vec!["role".into()], positionals: vec!["name".into()] };
        assert_eq!(
            user.explain(&problem("name", "'X' is not a valid user name")),
            "NAME: 'X' is not a valid user name"
        );
        assert_eq!(
            user.explain(&problem("roles", "a user needs at least one role")),
            "--role: a user needs at least one role"
        );
    }

    #[test]
    fn positions_are_dropped_only_when_they_are_positions() {
        assert_eq!(strip_position("missing field `x` at line 1 column 13"), "missing field `x`");
        assert_eq!(strip_position("arrives at line 4"), "arrives at line 4");
        assert_eq!(strip_position("waiting at line one column two"), "waiting at line one column two");
    }
}
