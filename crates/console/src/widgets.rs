//! Pieces several pages share: state badges, dates, and an approval with its decision forms.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{Markup, html};
use railyard_domain::{ApprovalKind, Verdict};
use railyard_service::{ApprovalView, SessionInfo};

/// A state as a badge; `bad` marks states that need attention.
pub fn state(text: &str, bad: bool) -> Markup {
    html! { span.state.bad[bad] { (text.replace('_', " ")) } }
}

/// The words of states that need someone's attention or ended badly: shown marked as such.
const BAD_WORDS: [&str; 16] = [
    "cancelled",
    "rolled_back",
    "failed",
    "rejected",
    "abandoned",
    "interrupted",
    "timed_out",
    "retired",
    "missed",
    "overdue",
    "offline",
    "decommissioned",
    "revoked",
    "expired",
    "blocked",
    "held",
];

/// Whether a state's word reads as needing attention (see [`BAD_WORDS`]): how it looks, not what it allows.
pub fn is_bad(word: &str) -> bool {
    BAD_WORDS.contains(&word)
}

/// A state as a badge, marked when its word reads as needing attention.
pub fn badge(word: &str) -> Markup {
    state(word, is_bad(word))
}

/// A time as the console shows every time: in the person's time zone, to the minute, with the zone's
/// abbreviation (`2026-12-03 09:15 CET`); the exact instant, in UTC, is the element's `datetime`.
pub fn time(zone: Tz, t: &DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) title=(zone.name()) { (local(zone, t)) } }
}

/// A time to the second, as a log line's: in the person's time zone with its abbreviation.
pub fn time_precise(zone: Tz, t: &DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) title=(zone.name()) { (t.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S %Z")) } }
}

/// A time as text in the person's time zone (`2026-12-03 09:15 CET`): what [`time`] shows.
pub fn local(zone: Tz, t: &DateTime<Utc>) -> String {
    t.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// The hint next to a field that takes a time: which zone it is read in.
pub fn zone_hint(zone: Tz) -> String {
    format!("your time, {}", zone.name())
}

/// What an approval is about, in words.
pub fn approval_subject(a: &ApprovalView) -> String {
    let ap = &a.approval;
    match (ap.kind, ap.gate) {
        (ApprovalKind::Gate, Some(g)) => format!("{} gate approval of {}", g.as_str(), ap.train_id),
        (ApprovalKind::Development, _) => format!("development approval of {} ({})", ap.subject_id, ap.train_id),
        (kind, _) => format!("{} approval of {}", kind.as_str(), ap.train_id),
    }
}

/// Approve and reject-with-comment forms for an approval. `back` is where to return afterwards.
pub fn decision_forms(session: &SessionInfo, a: &ApprovalView, back: &str) -> Markup {
    let id = &a.approval.id;
    let executive = a.approval.kind == ApprovalKind::Executive;
    html! {
        form.action method="post" action={ "/approvals/" (id) "/" (verb(Verdict::Approve)) } {
            (crate::forms::csrf_field(session))
            input type="hidden" name="back" value=(back);
            label { "Comment (optional)" input name="comment"; }
            button type="submit" { "Approve " (id) }
        }
        form.action method="post" action={ "/approvals/" (id) "/" (verb(Verdict::Reject)) } {
            (crate::forms::csrf_field(session))
            input type="hidden" name="back" value=(back);
            label { "Reason for rejecting" input name="comment" required; }
            @if executive {
                label { "Send the train back to"
                    select name="return_to" {
                        option value="verification" { "verification" }
                        option value="construction" { "construction" }
                    }
                }
            }
            button.secondary type="submit" { "Reject " (id) }
        }
    }
}

fn verb(v: Verdict) -> &'static str {
    match v {
        Verdict::Approve => "approve",
        Verdict::Reject => "reject",
    }
}
