//! Every release train, filtered by state, each linking to its page; a "New train" link for those who
//! may create trains.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Html;
use maud::html;
use railyard_domain::{AvailableAction, TrainState};
use railyard_service::{MAX_PAGE, Service, TrainFilter, TrainView};

use crate::error::PageError;
use crate::layout;
use crate::paging::every;
use crate::session::SignedIn;
use crate::widgets::badge;

pub async fn show(
    State(s): State<Service>,
    user: SignedIn,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, PageError> {
    let actor = &user.session.actor;
    let wanted = params.get("state").map(|v| v.trim()).filter(|v| !v.is_empty());
    let chosen =
        wanted.map(|v| v.parse::<TrainState>().map_err(|e| PageError::bad_parameter("state", e))).transpose()?;
    let mut trains: Vec<TrainView> = every(|cursor| {
        s.trains(
            actor,
            TrainFilter { states: chosen.into_iter().collect(), limit: Some(MAX_PAGE), cursor, ..Default::default() },
        )
    })
    .await?;
    // The next to go to production first.
    trains.sort_by_key(|t| (t.train.schedule.production_date, t.train.id.clone()));
    let body = html! {
        h1 { "Release trains" }
        @if AvailableAction::allows(&s.global_actions_for(actor), "create_train") { p { a href="/trains/new" { "New train" } } }
        section aria-labelledby="trains" {
            h2 #trains { @if let Some(st) = chosen { "Trains in " (st.as_str().replace('_', " ")) } @else { "All trains" } }
            form.action method="get" action="/trains" {
                label { "State"
                    select name="state" {
                        option value="" selected[chosen.is_none()] { "any state" }
                        @for st in TrainState::ALL {
                            option value=(st.as_str()) selected[chosen == Some(st)] { (st.as_str().replace('_', " ")) }
                        }
                    }
                }
                button.secondary type="submit" { "Show" }
            }
            @if trains.is_empty() { p { "No train." } }
            @else {
                div.table { table {
                    thead { tr { th { "Train" } th { "Type" } th { "State" } th { "Manager" } th { "Starts" } th { "Production" } } }
                    tbody {
                        @for t in &trains {
                            @let t = &t.train;
                            tr {
                                td { a href={ "/trains/" (t.id) } { (t.id) } " " (t.title) }
                                td { (t.release_type.as_str()) }
                                td { (badge(t.state.as_str())) }
                                td { (t.manager) }
                                td { (t.schedule.start) }
                                td { (t.schedule.production_date) }
                            }
                        }
                    }
                } }
            }
        }
    };
    Ok(Html(layout::page("Release trains", Some(&user.session), body).into_string()))
}
