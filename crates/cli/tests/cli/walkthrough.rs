//! docs/walkthrough.md (and the README's first train, see `readme.rs`), run as written: its server-start
//! command starts a real `railyard serve` on a fresh database, then every other command of its ```console
//! blocks runs in order, through `/bin/sh`, against that server, and what each prints is compared with the
//! document under the conventions the walkthrough states at its top (`...` lines, `<any>`,
//! `export NAME=...`, `error:` lines, the server's address, a command ending in `&` that keeps running
//! in the background until the document ends, as in a terminal of its own).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::BIN;

/// The address the document shows; the test's server listens elsewhere.
const DOC_URL: &str = "http://127.0.0.1:8080";
/// The longest any one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A file of the repository, by its path from the root.
pub(crate) fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// One command of the document and the output it shows.
#[derive(Debug)]
struct Step {
    /// 1-based line of the `$ ` in the document.
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// The steps of every ```console block of `doc` (the file `name`), in order. A line ending in `\`
/// continues on the next line.
fn parse(name: &str, doc: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_console = false;
    let mut continuing = false;
    for (i, raw) in doc.lines().enumerate() {
        let line = raw.trim_end();
        if !in_console {
            in_console = line == "```console";
            continue;
        }
        if line == "```" {
            assert!(!continuing, "{name}:{}: a command ends in '\\' at the end of its block", i + 1);
            in_console = false;
            continue;
        }
        if continuing {
            let step = steps.last_mut().expect("a step to continue");
            let (text, more) = continuation(line.trim_start());
            step.command.push(' ');
            step.command.push_str(text);
            continuing = more;
        } else if let Some(command) = line.strip_prefix("$ ") {
            let (text, more) = continuation(command);
            steps.push(Step { line: i + 1, command: text.to_string(), expected: Vec::new() });
            continuing = more;
        } else {
            let step =
                steps.last_mut().unwrap_or_else(|| panic!("{name}:{}: output before any '$ ' command: {line}", i + 1));
            step.expected.push(line.to_string());
        }
    }
    assert!(!in_console, "{name}: a ```console block is not closed");
    for s in &mut steps {
        while s.expected.last().is_some_and(|l| l.is_empty()) {
            s.expected.pop();
        }
    }
    steps
}

fn continuation(text: &str) -> (&str, bool) {
    match text.strip_suffix('\\') {
        Some(t) => (t.trim_end(), true),
        None => (text, false),
    }
}

/// `<any>` matches any text within one line; the rest is compared as written.
fn line_matches(pattern: &str, actual: &str) -> bool {
    let parts: Vec<&str> = pattern.split("<any>").collect();
    let [first, middle @ .., last] = parts.as_slice() else { return pattern == actual };
    if actual.len() < first.len() + last.len() || !actual.starts_with(first) || !actual.ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for m in middle {
        match rest.find(m) {
            Some(at) => rest = &rest[at + m.len()..],
            None => return false,
        }
    }
    true
}

/// A line `...` matches any number of lines (none too); every other line matches one line.
fn lines_match(expected: &[String], actual: &[String]) -> bool {
    // ok[i][j]: expected[i..] matches actual[j..].
    let (n, m) = (expected.len(), actual.len());
    let mut ok = vec![vec![false; m + 1]; n + 1];
    ok[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            ok[i][j] = if expected[i] == "..." {
                ok[i + 1][j] || (j < m && ok[i][j + 1])
            } else {
                j < m && line_matches(&expected[i], &actual[j]) && ok[i + 1][j + 1]
            };
        }
    }
    ok[0][0]
}

/// Output lines as compared: the server's real address shown as the document's, trailing blanks dropped.
fn normalise(text: &str, url: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.replace(url, DOC_URL).lines().map(|l| l.trim_end().to_string()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

struct Served {
    child: Child,
    url: String,
    printed: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The document's `[NAME=VALUE ...] railyard serve ...`, run without a shell in `dir` on a free port; what
/// it printed up to and including the line that says where it listens.
fn serve(name: &str, step: &Step, dir: &Path) -> Served {
    let mut words = step.command.split_whitespace().peekable();
    let mut env = Vec::new();
    while let Some((name, value)) = words.peek().and_then(|w| w.split_once('=')) {
        env.push((name.to_string(), value.to_string()));
        words.next();
    }
    assert_eq!(words.next(), Some("railyard"), "{name}:{}: the first command starts the server", step.line);
    let mut child = Command::new(BIN)
        .args(words)
        .env_remove("RAILYARD_DATABASE")
        .env_remove("RAILYARD_ADMIN_TOKEN")
        .envs(env)
        .env("RAILYARD_LISTEN", "127.0.0.1:0")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("railyard serve starts");
    let stdout = child.stdout.take();
    // Killed and reaped when dropped, also when it fails to start properly.
    let mut served = Served { child, url: String::new(), printed: Vec::new() };
    let stdout = stdout.expect("its stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("railyard serve did not say where it listens; it printed {:?}", served.printed));
        let url = line.strip_prefix("Railyard is listening on ").and_then(|r| r.split_whitespace().next());
        let url = url.map(str::to_string);
        served.printed.push(line);
        if let Some(url) = url {
            // Keep draining its output so it never blocks on a full pipe.
            std::thread::spawn(move || for _ in rx {});
            served.url = url;
            return served;
        }
    }
}

/// A command the document leaves running in the background (`... &`): started through `/bin/sh` like
/// the others, its output in `background-N.log` in the working directory, and killed (with what it
/// started: it leads a process group of its own) when the document ends.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let pgid = self.0.id() as libc::pid_t;
        // SAFETY: signalling the process group this test started; no memory is involved.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// Starts `script` (without its trailing `&`) in the background, as [`sh`] would run it.
fn background(script: &str, dir: &Path, vars: &BTreeMap<String, String>, n: usize) -> Background {
    use std::os::unix::process::CommandExt;
    let bin_dir = Path::new(BIN).parent().expect("the binary's directory");
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let log = std::fs::File::create(dir.join(format!("background-{n}.log"))).expect("a log file");
    let err = log.try_clone().expect("the log file again");
    let child = Command::new("/bin/sh")
        .args(["-c", &format!("exec {script}")])
        .current_dir(dir)
        .env("PATH", path)
        .env("RAILYARD_CONFIG", dir.join("config.json"))
        .env_remove("RAILYARD_SERVER")
        .env_remove("RAILYARD_TOKEN")
        .envs(vars)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0)
        .spawn()
        .expect("/bin/sh runs");
    Background(child)
}

/// What one command did.
struct Outcome {
    success: bool,
    output: String,
}

/// Runs `script` with `/bin/sh -c` in `dir`, the `railyard` under test first on the PATH, the login saved
/// in `dir`, and the variables exported so far; stdout then stderr.
fn sh(script: &str, dir: &Path, vars: &BTreeMap<String, String>) -> Outcome {
    let bin_dir = Path::new(BIN).parent().expect("the binary's directory");
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut child = Command::new("/bin/sh")
        .args(["-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .env("RAILYARD_CONFIG", dir.join("config.json"))
        .env_remove("RAILYARD_SERVER")
        .env_remove("RAILYARD_TOKEN")
        .envs(vars)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/bin/sh runs");
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = r.read_to_string(&mut text);
            text
        })
    };
    let out = read(Box::new(child.stdout.take().expect("stdout")));
    let err = read(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the command's status") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{script}` did not finish in {} s", COMMAND_TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut output = out.join().unwrap_or_default();
    output.push_str(&err.join().unwrap_or_default());
    Outcome { success: status.success(), output }
}

/// `export NAME=VALUE`: NAME (letters, digits, `_`) and the shell text of its value.
fn export(command: &str) -> Option<(&str, &str)> {
    let (name, value) = command.strip_prefix("export ")?.split_once('=')?;
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, value))
}

fn report(name: &str, step: &Step, why: &str, actual: &[String]) -> String {
    format!(
        "{name}:{}: `{}` {why}\n--- expected\n{}\n--- actual\n{}\n",
        step.line,
        step.command,
        step.expected.join("\n"),
        actual.join("\n")
    )
}

#[test]
fn the_walkthrough_runs_as_written() {
    run_document("docs/walkthrough.md", 50);
}

/// Runs the ```console blocks of the repository's file `path` (more than `at_least` commands) as the
/// module's doc says; fails naming each command whose outcome or output differs from the document.
pub(crate) fn run_document(path: &str, at_least: usize) {
    let started = Instant::now();
    let name = path;
    let doc = std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let steps = parse(name, &doc);
    assert!(steps.len() > at_least, "only {} commands found in {path}", steps.len());
    let dir = tempfile::tempdir().expect("a temporary directory");

    let first = &steps[0];
    assert!(first.command.contains("railyard serve"), "{name}:{}: the first command starts the server", first.line);
    let server = serve(name, first, dir.path());
    let mut failures = Vec::new();
    let printed = normalise(&server.printed.join("\n"), &server.url);
    if !lines_match(&first.expected, &printed) {
        failures.push(report(name, first, "printed something else", &printed));
    }

    // WALKTHROUGH_SHOW=1 prints what each command printed, for whoever edits the document.
    let show = std::env::var_os("WALKTHROUGH_SHOW").is_some();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut kept: Vec<Background> = Vec::new();
    for step in &steps[1..] {
        assert!(
            !step.command.contains("railyard serve"),
            "{name}:{}: only the first command may start a server",
            step.line
        );
        let command = step.command.replace(DOC_URL, &server.url);
        if let Some((name, value)) = export(&command) {
            // The shell evaluates the value; a failing command substitution fails the assignment.
            let outcome = sh(&format!("{name}={value} && printf '%s' \"${name}\""), dir.path(), &vars);
            if !outcome.success || outcome.output.trim().is_empty() || !step.expected.is_empty() {
                let printed = normalise(&outcome.output, &server.url);
                failures.push(report(name, step, "did not set a value silently", &printed));
            }
            vars.insert(name.to_string(), outcome.output.trim().to_string());
            continue;
        }
        if let Some(script) = command.strip_suffix('&').filter(|s| !s.ends_with('&')) {
            kept.push(background(script.trim_end(), dir.path(), &vars, kept.len() + 1));
            if !step.expected.is_empty() {
                failures.push(report(name, step, "runs in the background: the document shows no output for it", &[]));
            }
            continue;
        }
        let outcome = sh(&command, dir.path(), &vars);
        let actual = normalise(&outcome.output, &server.url);
        if show {
            eprintln!("$ {}\n{}", step.command, actual.join("\n"));
        }
        let should_fail = step.expected.iter().any(|l| l.starts_with("error:"));
        if outcome.success == should_fail {
            let why = if should_fail { "succeeded, but the document shows an error" } else { "failed" };
            failures.push(report(name, step, why, &actual));
        } else if !lines_match(&step.expected, &actual) {
            failures.push(report(name, step, "printed something else", &actual));
        }
    }
    drop(kept);
    let took = started.elapsed();
    assert!(
        failures.is_empty(),
        "{path} and the program disagree on {} of {} commands:\n\n{}",
        failures.len(),
        steps.len(),
        failures.join("\n")
    );
    eprintln!("{path}: {} commands in {:.1} s", steps.len(), took.as_secs_f64());
}

#[test]
fn placeholders_match_what_they_say() {
    let lines = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(line_matches("state  draft", "state  draft"));
    assert!(!line_matches("state  draft", "state  scoping"));
    assert!(line_matches("started  <any>", "started  2027-03-06T21:00:00Z"));
    assert!(line_matches("started  <any>", "started  "));
    assert!(line_matches("<any> at <any>Z", "run at 2027Z"));
    assert!(!line_matches("<any>ab<any>ba", "aba"));
    assert!(!line_matches("a<any>", "b"));
    assert!(lines_match(&lines(&["a", "...", "d"]), &lines(&["a", "b", "c", "d"])));
    assert!(lines_match(&lines(&["a", "...", "b"]), &lines(&["a", "b"])));
    assert!(lines_match(&lines(&["..."]), &lines(&[])));
    assert!(!lines_match(&lines(&["a", "...", "d"]), &lines(&["a", "b", "c"])));
    assert!(!lines_match(&lines(&["a"]), &lines(&["a", "b"])));
    let steps = parse("x.md", "x\n```console\n$ railyard a \\\n    --b c\nout\n\n$ two\n```\n$ not a step\n");
    assert_eq!(steps.len(), 2);
    assert_eq!(
        (steps[0].line, steps[0].command.as_str(), steps[0].expected.clone()),
        (3, "railyard a --b c", lines(&["out"]))
    );
    assert_eq!(export("export RITA=$(railyard token create)"), Some(("RITA", "$(railyard token create)")));
    assert_eq!(export("railyard x"), None);
}
