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
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use maud::html;
use railyard_service::{AuditFilter, AuditStatus, ChainView, Service};

use crate::error::PageError;
use crate::event_data;
use crate::layout;
use crate::session::SignedIn;
use crate::widgets::{time, zone_hint};
use chrono_tz::Tz;

/// Events per page.
const PAGE: u32 = 50;

/// A time filter: a day in the person's time zone (`2027-03-01`, its start; for `to`, the end of it) or
/// an RFC 3339 time.
fn instant(params: &HashMap<String, String>, name: &'static str, zone: Tz) -> Result<Option<DateTime<Utc>>, PageError> {
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
    let start = day.and_time(NaiveTime::MIN);
    // A zone whose clocks skip midnight that day starts it at the first time that exists.
    let local = zone
        .from_local_datetime(&start)
        .earliest()
        .or_else(|| (1..=4).find_map(|h| zone.from_local_datetime(&(start + chrono::Duration::hours(h))).earliest()));
    local
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or_else(|| PageError::bad_parameter(name, format!("{text} has no start in {zone}")))
}

fn text(params: &HashMap<String, String>, name: &str) -> Option<String> {
    params.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The audit log's filters as the page's form and its links carry them: object id, actor, from, to.
pub(crate) struct Filters {
    object: String,
    actor: String,
    from_text: String,
    to_text: String,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

impl Filters {
    pub(crate) fn read(params: &HashMap<String, String>, zone: Tz) -> Result<Filters, PageError> {
        let shown = |name: &str| params.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
        Ok(Filters {
            object: shown("object"),
            actor: shown("actor"),
            from_text: shown("from"),
            to_text: shown("to"),
            from: instant(params, "from", zone)?,
            to: instant(params, "to", zone)?,
        })
    }

    /// The service's filter for one page of `limit` events after `cursor`.
    pub(crate) fn service(&self, limit: u32, cursor: Option<String>) -> AuditFilter {
        AuditFilter {
            object_id: Some(self.object.clone()).filter(|v| !v.is_empty()),
            actor: Some(self.actor.clone()).filter(|v| !v.is_empty()),
            from: self.from,
            to: self.to,
            limit: Some(limit),
            cursor,
            ..Default::default()
        }
    }

    /// The filters as a query string (without `?`), with `extra` pairs after them.
    fn query(&self, extra: &[(&str, &str)]) -> String {
        [("object", self.object.as_str()), ("actor", &self.actor), ("from", &self.from_text), ("to", &self.to_text)]
            .iter()
            .chain(extra)
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
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
    let filters = Filters::read(&params, zone)?;
    let filter = filters.service(PAGE, cursor);
    let (object, who, from, to) = (&filters.object, &filters.actor, &filters.from_text, &filters.to_text);
    let verified = match params.get("verify").map(String::as_str) {
        Some("now") => Some(s.verify_audit(actor).await?),
        Some(other) => return Err(PageError::bad_parameter("verify", format!("“{other}” is not “now”"))),
        None => None,
    };
    let status = s.audit_status(actor).await?;
    let page = s.events(actor, filter).await?;
    let next = page.next_cursor.as_ref().map(|c| format!("/audit?{}", filters.query(&[("cursor", c)])));
    let exports = filters.query(&[]);
    let body = html! {
        h1 { "Audit log" }
        (chain_status(&status, verified.as_ref(), zone))
        section aria-labelledby="filters" {
            h2 #filters { "Filter" }
            form.action method="get" action="/audit" {
                label { "Object (id, e.g. RT-3)" input name="object" value=(object); }
                label { "Actor" input name="actor" value=(who); }
                label { "From (a date, " (zone_hint(zone)) ", or an RFC 3339 time)" input name="from" value=(from) placeholder="2027-03-01"; }
                label { "To (a date, " (zone_hint(zone)) ", or an RFC 3339 time)" input name="to" value=(to) placeholder="2027-03-31"; }
                button type="submit" { "Show events" }
                a href="/audit" { "Clear" }
            }
            p {
                "Export the events these filters select: "
                a href={ "/audit/export.csv?" (exports) } download { "CSV" } " · "
                a href={ "/audit/export.json?" (exports) } download { "JSON" }
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
                                // What was recorded, as it was: ids in it (a task run's "R1") are data, not the page's words.
                                td data-record { (event_data::render(&e.data)) }
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
pub(crate) fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
