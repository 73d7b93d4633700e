//! The console keeps no state or role checks of its own: which buttons and forms a page shows comes from
//! the domain's available actions. This test reads the console's source and fails when a check comes
//! back: a comparison with a lifecycle state, a `matches!` on one, a state predicate, or a look at the
//! user's roles or operations. The few lines that read a state only to word or colour it are listed
//! below with the reason.

use std::path::{Path, PathBuf};

/// What a check of the console's own looks like, each with what to use instead.
const CHECKS: [(&str, &str); 8] = [
    ("State::", "a lifecycle state named in a condition: ask the domain's available actions"),
    (".state ==", "a state compared: ask the domain's available actions"),
    (".state !=", "a state compared: ask the domain's available actions"),
    ("state.is_", "a state predicate: ask the domain's available actions"),
    (".may(Operation::", "an operation of the role matrix: use the available actions (global_actions_for)"),
    (".has(Role::", "a role looked at: use the available actions"),
    ("is_admin()", "a role looked at: use the available actions"),
    ("gate_editable(", "a train rule copied: use the train's available actions"),
];

/// Lines allowed to match, as (file, text on the line, why it is not a check of the console's own).
const ALLOWED: [(&str, &str, &str); 10] = [
    ("train_list.rs", "TrainState::ALL", "lists every state as a filter's choices; it decides nothing"),
    ("turnover_list.rs", "TurnoverState::", "lists every state as a filter's choices; it decides nothing"),
    ("users.rs", "Role::ALL", "lists every role as the choices of the roles field; it decides nothing"),
    ("dashboard.rs", "TrainState::", "the columns of the board, one per open state; it decides nothing"),
    ("dashboard.rs", "DeploymentState::", "which deployments the board lists (failed, scheduled); it decides nothing"),
    ("release_forms.rs", "PathState::Active", "offers active paths as a hint; the service judges the one chosen"),
    ("turnover_forms.rs", "PathState::Active", "offers active paths as choices; the service judges the one chosen"),
    ("turnover.rs", "RunbookState::Accepted", "offers accepted runbooks as choices; the service judges the one chosen"),
    ("deployment.rs", "d.state.is_active()", "whether the page reloads itself while the engine works; no button"),
    ("deployment.rs", "RunState::Running", "whether a run's log page reloads itself while it runs; no button"),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the console's source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_console_keeps_no_state_or_role_checks_of_its_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    assert!(files.len() > 30, "the console's source was not found under {}", root.display());
    let mut found = Vec::new();
    for file in &files {
        let name = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        let text = std::fs::read_to_string(file).expect("a source file");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (pattern, instead) in CHECKS {
                let allowed = ALLOWED.iter().any(|(f, t, _)| name.ends_with(f) && code.contains(t));
                if code.contains(pattern) && !allowed {
                    found.push(format!("{name}:{}: {} ({instead})", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the console checks states or roles itself in {} places:\n{}",
        found.len(),
        found.join("\n")
    );
}
