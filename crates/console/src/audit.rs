//! The audit log: the events, filtered by object, actor and time, a page at a time, under the hash
//! chain's status.
//!
//! Loading the page does not verify the whole log (which reads every event and every record): it
//! checks the chain head against the newest event, and shows the newest full verification this server
//! made, with its time. "Verify now" (`?verify=now`) runs a full one, through the same
//! one-at-a-time gate as `GET /api/v1/audit/verify`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use maud::html;
use railyard_service::{AuditFilter, AuditStatus, ChainView, Service};

use crate::error::PageError;
use crate::layout;
use crate::session::SignedIn;
use crate::widgets::time;
use chrono_tz::Tz;

/// Events per page.
const PAGE: u32 = 50;

/// A time filter: a day (`2027-03-01`, its start; for `to`, the end of it) or an RFC 3339 time.
fn instant(params: &HashMap<String, String>, name: &'static str) -> Result<Option<DateTime<Utc>>, PageError> {
    let Some(text) = params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        PageError::bad_parameter(
            name,
            format!("“{text}” is neither a date like 2027-03-01 nor a time like 2027-03-01T09:00:00Z"),
        )
    })?;
    let day = if name == "to" {
        day.succ_opt().ok_or_else(|| PageError::bad_parameter(name, format!("{text} is out of range")))?
    } else {
        day
    };
    Ok(Some(day.and_time(NaiveTime::MIN).and_utc()))
}

fn text(params: &HashMap<String, String>, name: &str) -> Option<String> {
    params.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

pub async fn show(
    State(s): State<Service>,
    user: SignedIn,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let zone = user.session.time_zone;
    let cursor = text(&params, "cursor");
    if let Some(c) = &cursor
        && c.parse::<u64>().is_err()
    {
        return Err(PageError::bad_parameter("cursor", format!("“{c}” is not a position in the log")));
    }
    let filter = AuditFilter {
        object_id: text(&params, "object"),
        actor: text(&params, "actor"),
        from: instant(&params, "from")?,
        to: instant(&params, "to")?,
        limit: Some(PAGE),
        cursor,
        ..Default::default()
    };
    let shown = |name: &str| params.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
    let (object, who, from, to) = (shown("object"), shown("actor"), shown("from"), shown("to"));
    let verified = match params.get("verify").map(String::as_str) {
        Some("now") => Some(s.verify_audit(actor).await?),
        Some(other) => return Err(PageError::bad_parameter("verify", format!("“{other}” is not “now”"))),
        None => None,
    };
    let status = s.audit_status(actor).await?;
    let page = s.events(actor, filter).await?;
    let next = page.next_cursor.as_ref().map(|c| {
        let q = [("object", &object), ("actor", &who), ("from", &from), ("to", &to), ("cursor", c)]
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        format!("/audit?{q}")
    });
    let body = html! {
        h1 { "Audit log" }
        (chain_status(&status, verified.as_ref(), zone))
        section aria-labelledby="filters" {
            h2 #filters { "Filter" }
            form.action method="get" action="/audit" {
                label { "Object (id, e.g. RT-3)" input name="object" value=(object); }
                label { "Actor" input name="actor" value=(who); }
                label { "From (date or time, UTC)" input name="from" value=(from) placeholder="2027-03-01"; }
                label { "To (date or time, UTC)" input name="to" value=(to) placeholder="2027-03-31"; }
                button type="submit" { "Show events" }
                a href="/audit" { "Clear" }
            }
        }
        section aria-labelledby="events" {
            h2 #events { "Events" }
            @if page.items.is_empty() { p { "No events match." } }
            @else {
                div.table { table.audit {
                    thead { tr { th { "Seq" } th { "Time" } th { "Actor" } th { "Object" } th { "Action" } th { "Data" } } }
                    tbody {
                        @for e in &page.items {
                            tr {
                                td { (e.seq) }
                                td { (time(zone, &e.at)) }
                                td { (e.actor) }
                                td { (e.object_kind) " " (e.object_id) }
                                td { (e.action) }
                                td { code { (e.data.to_string()) } }
                            }
                        }
                    }
                } }
            }
            @if let Some(n) = &next { p { a rel="next" href=(n) { "Older events →" } } }
        }
    };
    Ok(Html(layout::page("Audit log", Some(&user.session), body).into_string()))
}

fn chain_status(status: &AuditStatus, verified: Option<&ChainView>, zone: Tz) -> maud::Markup {
    let last = verified.or(status.last.as_ref());
    html! {
        section aria-labelledby="chain" {
            h2 #chain { "Chain verification" }
            @match (&status.head_problem, &status.head) {
                (None, Some(h)) => p { "Chain head: " span.state.good { "intact" } " — event " (h.seq) " matches the stored head " code { (h.hash) } },
                (None, None) => p { "Chain head: " span.state.good { "intact" } },
                (Some(problem), _) => p role="alert" { "Chain head: " strong { "broken" } " — " (problem) },
            }
            @match last {
                None => p { "Last full verification: none since this server started." },
                Some(c) => (full_verification(c, zone)),
            }
            p { a href="/audit?verify=now" { "Verify now" } " — checks every event and every record (one verification runs at a time)." }
        }
    }
}

fn full_verification(chain: &ChainView, zone: Tz) -> maud::Markup {
    let at = &chain.verified_at;
    let when = time(zone, at);
    html! {
        @if chain.intact {
            p { "Last full verification, " (when) ": " span.state.good { "intact" } " — " (chain.events_checked) " events checked, " (chain.records_checked) " records; head " code { (chain.head_hash) } }
        } @else {
            p role="alert" {
                "Last full verification, " (when) ": " strong { "broken" } " — " (chain.events_checked) " events checked"
                @if let Some(seq) = chain.first_broken_seq { "; the first event that does not verify is " (seq) }
                @if let Some(r) = &chain.reason { ": " (r) }
            }
        }
    }
}

/// Percent-encodes a query value.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
