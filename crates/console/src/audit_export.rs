//! The audit log's export: the events the page's filters select, as CSV or JSON, streamed a page of the
//! log at a time so a large log never sits in memory whole. Fields: seq, at (RFC 3339, UTC), actor,
//! object kind, object id, action, data (its JSON, compact) and hash. The viewer gets what the service
//! lets them see (the details of failed sign-ins only for admins), as on the page and in the API.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use railyard_domain::Actor;
use railyard_service::{EventView, MAX_PAGE, Service, ServiceError};
use serde::Serialize;

use crate::audit::Filters;
use crate::error::PageError;
use crate::session::SignedIn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

/// One exported event: `D` is its data, compact JSON text in a CSV cell, the JSON itself in JSON.
#[derive(Debug, Serialize)]
struct Row<'a, D: Serialize> {
    seq: i64,
    at: String,
    actor: &'a str,
    object_kind: &'a str,
    object_id: &'a str,
    action: &'a str,
    data: D,
    hash: &'a str,
}

fn row<D: Serialize>(e: &EventView, data: D) -> Row<'_, D> {
    Row {
        seq: e.seq,
        at: e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        actor: &e.actor,
        object_kind: &e.object_kind,
        object_id: &e.object_id,
        action: &e.action,
        data,
        hash: &e.hash,
    }
}

/// One page of events as a chunk of the export; `first` opens it (the CSV header, the JSON array).
fn chunk(format: Format, events: &[EventView], first: bool, last: bool) -> Result<Bytes, ServiceError> {
    let fault =
        |e: &dyn std::fmt::Display| ServiceError::Internal(format!("the audit export could not be written: {e}"));
    let mut out = Vec::new();
    match format {
        Format::Csv => {
            let mut w = csv::WriterBuilder::new().has_headers(first).from_writer(&mut out);
            if first && events.is_empty() {
                w.write_record(["seq", "at", "actor", "object_kind", "object_id", "action", "data", "hash"])
                    .map_err(|e| fault(&e))?;
            }
            for e in events {
                w.serialize(row(e, e.data.to_string())).map_err(|e| fault(&e))?;
            }
            w.flush().map_err(|e| fault(&e))?;
        }
        Format::Json => {
            if first {
                out.push(b'[');
            }
            for (i, e) in events.iter().enumerate() {
                if !(first && i == 0) {
                    out.push(b',');
                }
                out.push(b'\n');
                serde_json::to_writer(&mut out, &row(e, &e.data)).map_err(|e| fault(&e))?;
            }
            if last {
                out.extend_from_slice(b"\n]\n");
            }
        }
    }
    Ok(Bytes::from(out))
}

/// Where the export stands between two chunks.
struct Cursor {
    service: Service,
    actor: Actor,
    filters: Filters,
    format: Format,
    /// The next page's cursor; `None` once the last page went out.
    next: Option<String>,
}

async fn export(
    s: Service,
    user: SignedIn,
    params: HashMap<String, String>,
    format: Format,
) -> Result<Response, PageError> {
    let actor = user.session.actor.clone();
    let filters = Filters::read(&params, user.session.time_zone)?;
    // The first page is read before the answer starts, so a bad filter or a refusal is a proper error page.
    let page = s.events(&actor, filters.service(MAX_PAGE, None)).await?;
    let first = chunk(format, &page.items, true, page.next_cursor.is_none())?;
    let cursor = Cursor { service: s, actor, filters, format, next: page.next_cursor };
    let rest = stream::unfold(cursor, |mut c| async move {
        let after = c.next.take()?;
        let page = match c.service.events(&c.actor, c.filters.service(MAX_PAGE, Some(after))).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "the audit export stopped");
                return Some((Err(std::io::Error::other("the audit export stopped")), c));
            }
        };
        c.next = page.next_cursor;
        let bytes = chunk(c.format, &page.items, false, c.next.is_none()).map_err(|e| {
            tracing::error!(error = %e, "the audit export stopped");
            std::io::Error::other("the audit export stopped")
        });
        Some((bytes, c))
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(stream::iter([Ok::<_, std::io::Error>(first)]), rest));
    let (content_type, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "railyard-audit.csv"),
        Format::Json => ("application/json", "railyard-audit.json"),
    };
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok(([(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}

/// `GET /audit/export.csv?object=&actor=&from=&to=`
pub async fn csv(
    State(s): State<Service>,
    user: SignedIn,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    export(s, user, params, Format::Csv).await
}

/// `GET /audit/export.json?object=&actor=&from=&to=`
pub async fn json(
    State(s): State<Service>,
    user: SignedIn,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    export(s, user, params, Format::Json).await
}
