//! The runner protocol's messages (`docs/runner-protocol.md`) as the runner sends and reads them. Every
//! answer is read as coming from anyone: a run that cannot be read is refused on its own, never the
//! whole answer.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use railyard_runner::{Action, Outcome, OutputLine, RunStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most output lines one heartbeat carries.
pub const MAX_LINES_PER_CALL: usize = 1000;
/// The shortest and longest lease a runner accepts from a server (a server saying 0 or a year is read
/// as the nearest of these).
pub const LEASE_RANGE: (Duration, Duration) = (Duration::from_secs(3), Duration::from_secs(3600));
/// The longest claim id a runner accepts.
const MAX_CLAIM_LEN: usize = 200;

/// `POST /api/v1/runner/claim`.
#[derive(Debug, Serialize)]
pub(crate) struct ClaimRequest<'a> {
    pub version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<&'a [String]>,
    pub capacity: usize,
    pub in_flight: Vec<String>,
    /// How long the server may hold the answer while it has no run to hand over.
    pub wait_ms: u64,
}

/// The claim's answer: the lease and the runs handed over, each still to be read. Its `Debug` shows
/// how many runs came, never their contents (they hold secret values).
#[derive(Deserialize)]
pub(crate) struct ClaimAnswer {
    pub lease_secs: i64,
    #[serde(default)]
    pub runs: Vec<Value>,
}

impl std::fmt::Debug for ClaimAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimAnswer").field("lease_secs", &self.lease_secs).field("runs", &self.runs.len()).finish()
    }
}

impl ClaimAnswer {
    /// The lease, within [`LEASE_RANGE`].
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs.max(0).unsigned_abs()).clamp(LEASE_RANGE.0, LEASE_RANGE.1)
    }
}

/// One run a runner claimed. Its `Debug` shows neither the resolved action nor the values to mask.
#[derive(Clone, Deserialize)]
pub struct ClaimedRun {
    /// The claim's id, e.g. `DE-5:R1:1`: what heartbeats and the result name.
    pub claim: String,
    pub deployment: String,
    pub run: String,
    pub attempt: u32,
    #[serde(default)]
    pub title: String,
    /// The action with its variables and secrets resolved; `None` when the server sent none.
    #[serde(default)]
    pub action: Option<Action>,
    /// Variables added to the run's environment (they win over the action's).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The secret values the action holds: masked in every line and message that leaves the runner.
    #[serde(default)]
    pub mask: Vec<String>,
}

impl std::fmt::Debug for ClaimedRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedRun")
            .field("claim", &self.claim)
            .field("title", &self.title)
            .field("mask", &format_args!("<{} values>", self.mask.len()))
            .finish_non_exhaustive()
    }
}

/// What the runner makes of one run in a claim's answer.
#[derive(Debug)]
pub(crate) enum Handed {
    /// A run it can carry out.
    Run(Box<ClaimedRun>),
    /// A run whose claim is known but whose rest cannot be read: it is reported as not started.
    Unreadable { claim: String, why: String },
    /// Not even the claim can be read: nothing can be reported; its lease runs out on the server.
    Unknown(String),
}

/// Reads one run of a claim's answer.
pub(crate) fn read_run(value: Value) -> Handed {
    let claim = match value.get("claim").and_then(Value::as_str) {
        Some(c) if usable_claim(c) => c.to_string(),
        Some(_) => return Handed::Unknown("a claim id that is empty, too long, or holds control characters".into()),
        None => return Handed::Unknown("a run without a claim id".into()),
    };
    let value = with_action_kind(value);
    match serde_json::from_value::<ClaimedRun>(value) {
        Ok(run) => Handed::Run(Box::new(run)),
        Err(e) => Handed::Unreadable { claim, why: format!("the runner could not read the run the server sent: {e}") },
    }
}

fn usable_claim(claim: &str) -> bool {
    !claim.is_empty() && claim.len() <= MAX_CLAIM_LEN && !claim.chars().any(char::is_control)
}

/// An action sent as `{"command": {...}}` (the variant as the key) is read as `{"kind": "command", ...}`,
/// the form actions are stored in.
fn with_action_kind(mut value: Value) -> Value {
    if let Some(Value::Object(action)) = value.get_mut("action")
        && !action.contains_key("kind")
        && action.len() == 1
        && let Some((kind, Value::Object(fields))) = action.iter().next().map(|(k, v)| (k.clone(), v.clone()))
        && matches!(kind.as_str(), "command" | "http")
    {
        let mut fields = fields;
        fields.insert("kind".into(), Value::String(kind));
        *action = fields;
    }
    value
}

/// `POST /api/v1/runner/runs/{claim}/heartbeat`.
#[derive(Debug, Serialize)]
pub(crate) struct Heartbeat<'a> {
    pub lines: &'a [OutputLine],
}

/// `POST /api/v1/runner/runs/{claim}/result`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunReport {
    pub status: &'static str,
    pub exit_code: Option<i32>,
    pub http_status: Option<u16>,
    pub message: String,
    pub finished_at: DateTime<Utc>,
    pub truncated: bool,
    pub lines: Vec<OutputLine>,
}

impl RunReport {
    /// A run that never started, for `why`.
    pub fn not_started(why: String) -> RunReport {
        RunReport {
            status: "could_not_start",
            exit_code: None,
            http_status: None,
            message: why,
            finished_at: Utc::now(),
            truncated: false,
            lines: Vec::new(),
        }
    }

    /// The report of a run that ended with `outcome`; `stopped_because` is the message of a run the
    /// runner stopped (already masked, as `outcome`'s message must be).
    pub fn of(outcome: Outcome, message: String, lines: Vec<OutputLine>) -> RunReport {
        RunReport {
            status: status(outcome.status),
            exit_code: outcome.exit_code,
            http_status: outcome.http_status,
            message,
            finished_at: outcome.finished_at,
            truncated: outcome.truncated,
            lines,
        }
    }
}

/// The protocol's name for how a run ended: a run the runner stopped is `interrupted`.
pub fn status(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Succeeded => "succeeded",
        RunStatus::Failed => "failed",
        RunStatus::TimedOut => "timed_out",
        RunStatus::CouldNotStart => "could_not_start",
        RunStatus::Stopped => "interrupted",
    }
}

/// The longest line text a server takes, in bytes (the runner crate cuts lines at as many raw bytes, but
/// each invalid byte becomes a 3-byte U+FFFD when decoded, so a decoded line may be longer).
pub const MAX_LINE_BYTES: usize = railyard_runner::MAX_LINE_BYTES;

/// `line` as it is sent: in pieces of at most [`MAX_LINE_BYTES`] bytes, cut between characters.
pub fn pieces(line: OutputLine) -> Vec<OutputLine> {
    if line.text.len() <= MAX_LINE_BYTES {
        return vec![line];
    }
    let mut out = Vec::new();
    let mut rest = line.text.as_str();
    while !rest.is_empty() {
        let mut cut = rest.len().min(MAX_LINE_BYTES);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, after) = rest.split_at(cut);
        out.push(OutputLine { at: line.at, stream: line.stream, text: piece.to_string() });
        rest = after;
    }
    out
}

/// The first [`MAX_LINES_PER_CALL`] lines of `pending`, taken out of it.
pub fn next_batch(pending: &mut Vec<OutputLine>) -> Vec<OutputLine> {
    let n = pending.len().min(MAX_LINES_PER_CALL);
    pending.drain(..n).collect()
}

/// Lines that could not be sent go back in front of those printed since.
pub fn put_back(pending: &mut Vec<OutputLine>, batch: Vec<OutputLine>) {
    if !batch.is_empty() {
        pending.splice(0..0, batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use railyard_runner::Stream;
    use serde_json::json;

    fn line(i: usize) -> OutputLine {
        OutputLine { at: Utc::now(), stream: Stream::Stdout, text: i.to_string() }
    }

    #[test]
    fn batches_hold_at_most_a_thousand_lines_in_order_and_unsent_ones_go_back_first() {
        let mut pending: Vec<OutputLine> = (0..2500).map(line).collect();
        let first = next_batch(&mut pending);
        assert_eq!((first.len(), first[0].text.as_str(), pending.len()), (1000, "0", 1500));
        pending.push(line(2500));
        put_back(&mut pending, first);
        assert_eq!((pending.len(), pending[0].text.as_str()), (2501, "0"));
        let sizes: Vec<usize> =
            std::iter::from_fn(|| Some(next_batch(&mut pending).len()).filter(|&n| n > 0)).collect();
        assert_eq!(sizes, [1000, 1000, 501]);
    }

    #[test]
    fn lines_longer_than_a_server_takes_go_in_pieces_cut_between_characters() {
        let short = line(7);
        assert_eq!(pieces(short.clone()), [short]);
        // 8,192 invalid bytes, decoded: three times as many bytes of U+FFFD.
        let decoded = String::from_utf8_lossy(&[0xff; MAX_LINE_BYTES]).into_owned();
        let long = OutputLine { at: Utc::now(), stream: Stream::Stderr, text: format!("a{decoded}") };
        let cut = pieces(long.clone());
        assert_eq!(cut.len(), 4);
        assert!(cut.iter().all(|p| p.text.len() <= MAX_LINE_BYTES && p.stream == Stream::Stderr && p.at == long.at));
        assert_eq!(cut.iter().map(|p| p.text.as_str()).collect::<String>(), long.text);
    }

    #[test]
    fn statuses_in_the_protocols_words() {
        assert_eq!(status(RunStatus::Succeeded), "succeeded");
        assert_eq!(status(RunStatus::Failed), "failed");
        assert_eq!(status(RunStatus::TimedOut), "timed_out");
        assert_eq!(status(RunStatus::CouldNotStart), "could_not_start");
        assert_eq!(status(RunStatus::Stopped), "interrupted");
    }

    #[test]
    fn a_run_is_read_in_either_action_form_and_an_unreadable_one_keeps_its_claim() {
        let stored = json!({"claim": "DE-5:R1:1", "deployment": "DE-5", "run": "R1", "attempt": 1, "title": "Deploy",
            "action": {"kind": "command", "program": "/bin/true", "args": [], "env": {}, "timeout_secs": 60},
            "env": {"RAILYARD_RUN_ID": "DE-5-R1-1"}, "mask": ["s3cret"], "lease_expires_at": "2026-12-03T15:00:10Z"});
        let Handed::Run(run) = read_run(stored.clone()) else { panic!("stored form") };
        assert_eq!((run.claim.as_str(), run.attempt, run.mask.len()), ("DE-5:R1:1", 1, 1));
        assert!(matches!(run.action, Some(Action::Command(_))));
        let mut keyed = stored.clone();
        keyed["action"] = json!({"command": {"program": "/bin/true", "args": [], "env": {}, "timeout_secs": 60}});
        assert!(matches!(read_run(keyed), Handed::Run(r) if matches!(r.action, Some(Action::Command(_)))));
        let mut broken = stored.clone();
        broken["attempt"] = json!("one");
        assert!(matches!(read_run(broken), Handed::Unreadable { claim, .. } if claim == "DE-5:R1:1"));
        assert!(matches!(read_run(json!({"claim": ""})), Handed::Unknown(_)));
        assert!(matches!(read_run(json!({"claim": "a\nb"})), Handed::Unknown(_)));
        assert!(matches!(read_run(json!([1])), Handed::Unknown(_)));
    }

    #[test]
    fn leases_are_kept_within_bounds() {
        let lease = |secs| ClaimAnswer { lease_secs: secs, runs: Vec::new() }.lease();
        assert_eq!(lease(10), Duration::from_secs(10));
        assert_eq!(lease(0), Duration::from_secs(3));
        assert_eq!(lease(i64::MAX), Duration::from_secs(3600));
        assert_eq!(lease(-5), Duration::from_secs(3));
    }
}
