//! The users: everyone may see who holds which roles; admins also get the forms to create a user, edit
//! a user's roles or deactivate them, set a console password, and issue or revoke API tokens. The forms
//! post to `user_forms`.

use axum::extract::{Path, Query, State};
use axum::response::Html;
use maud::{Markup, html};
use railyard_domain::{AvailableAction, Role};
use railyard_service::{MIN_PASSWORD_CHARS, Service, SessionInfo, TokenView, UserView};

use crate::error::PageError;
use crate::forms::csrf_field;
use crate::layout;
use crate::session::SignedIn;
use crate::widgets::badge;
use crate::widgets::{state, time};

fn roles_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str().replace('_', " ")).collect::<Vec<_>>().join(", ")
}

/// The roles as a group of checkboxes, `checked` ticked.
fn role_boxes(checked: &[Role]) -> Markup {
    html! {
        fieldset {
            legend { "Roles (at least one)" }
            @for r in Role::ALL {
                label { span {
                    input type="checkbox" name="roles" value=(r.as_str()) checked[checked.contains(&r)];
                    " " (r.as_str().replace('_', " "))
                } }
            }
        }
    }
}

fn password_field(label: &str, required: bool) -> Markup {
    html! {
        label { (label) " (" @if !required { "optional; " } "at least " (MIN_PASSWORD_CHARS) " characters)"
            input type="password" name="password" autocomplete="new-password" minlength=(MIN_PASSWORD_CHARS) required[required];
        }
    }
}

/// `GET /users`
pub async fn list(State(s): State<Service>, user: SignedIn) -> Result<Html<String>, PageError> {
    let users = crate::people::all(&s, &user.session.actor).await?;
    let session = &user.session;
    let admin = AvailableAction::allows(&s.global_actions_for(&session.actor), "manage_users");
    let body = html! {
        h1 { "Users" }
        section aria-labelledby="users" {
            h2 #users { "Everyone" }
            div.table { table {
                thead { tr { th { "User" } th { "Name" } th { "Email" } th { "Roles" } th { "State" } th { "Console password" } } }
                tbody {
                    @for u in &users {
                        tr {
                            td { a href={ "/users/" (u.user.name) } { (u.user.name) } }
                            td { (u.user.display_name) }
                            td { (u.user.email.as_deref().unwrap_or("")) }
                            td { (roles_text(&u.user.roles)) }
                            td { (active_badge(u)) }
                            td { (if u.has_password { "set" } else { "not set" }) }
                        }
                    }
                }
            } }
        }
        @if admin {
            section aria-labelledby="new-user" {
                h2 #new-user { "New user" }
                form method="post" action="/users" {
                    (csrf_field(session))
                    div.grid {
                        label { "User name" input name="name" required pattern="[a-z][a-z0-9._-]{0,62}" autocomplete="off" placeholder="rita"; }
                        label { "Display name" input name="display_name"; }
                        label { "Email" input type="email" name="email"; }
                        label { "Time zone (e.g. Europe/Berlin; empty: UTC)" input name="time_zone" list="time-zones" autocomplete="off"; }
                    }
                    (zone_choices())
                    (role_boxes(&[]))
                    (password_field("Console password", false))
                    p { button type="submit" { "Create user" } }
                }
                p.hint { "User names: lower-case letters, digits, “.”, “_” or “-”, starting with a letter." }
            }
        } @else {
            p.hint { "Only an admin manages users." }
        }
    };
    Ok(Html(layout::page("Users", Some(session), body).into_string()))
}

fn active_badge(u: &UserView) -> Markup {
    if u.user.active { state("active", false) } else { state("deactivated", true) }
}

/// `GET /users/{name}`
pub async fn show(
    State(s): State<Service>,
    user: SignedIn,
    Path(name): Path<String>,
    Query(unfold): Query<crate::forms::Unfold>,
) -> Result<Html<String>, PageError> {
    let session = &user.session;
    let u = s.user(&session.actor, &name).await?;
    // Everyone keeps their own API tokens; admins everybody's: as the domain lists them for this user.
    let actions = s.user_actions_for(&session.actor, &u.user.name).await?;
    let admin = AvailableAction::allows(&actions, "edit");
    let keeps_tokens = AvailableAction::allows(&actions, "manage_tokens");
    let tokens = if keeps_tokens { s.tokens(&session.actor, Some(&u.user.name)).await?.items } else { Vec::new() };
    let title = format!("User {}", u.user.name);
    let base = format!("/users/{}", u.user.name);
    let body = html! {
        h1 { (title) }
        p { a href="/users" { "All users" } }
        section aria-labelledby="about" {
            h2 #about { "About" }
            dl.facts {
                dt { "Name" } dd { @if u.user.display_name.is_empty() { "—" } @else { (u.user.display_name) } }
                dt { "Email" } dd { (u.user.email.as_deref().unwrap_or("—")) }
                dt { "Roles" } dd { (roles_text(&u.user.roles)) }
                dt { "State" } dd { (active_badge(&u)) }
                dt { "Console password" } dd { (if u.has_password { "set" } else { "not set: they sign in with an API token" }) }
                dt { "Time zone" } dd { (u.user.time_zone) }
                dt { "Since" } dd { (time(user.session.time_zone, &u.meta.created_at)) }
            }
        }
        @if admin || u.user.name == session.actor.name { (settings_section(session, &u, &base)) }
        @if admin { (admin_forms(session, &u, &base, unfold.open())) }
        @if keeps_tokens { (tokens_section(session, &base, &tokens, &actions)) }
    };
    Ok(Html(layout::page(&title, Some(session), body).into_string()))
}

fn admin_forms(session: &SessionInfo, u: &UserView, base: &str, open: bool) -> Markup {
    html! {
        section aria-labelledby="edit" {
            details.edit open[open] {
                summary { h2 #edit { "Edit " (u.user.name) } }
                form method="post" action=(base) {
                    (csrf_field(session))
                    input type="hidden" name="version" value=(u.meta.version);
                    div.grid {
                        label { "Display name" input name="display_name" value=(u.user.display_name); }
                        label { "Email" input type="email" name="email" value=[u.user.email.as_deref()]; }
                    }
                    (role_boxes(&u.user.roles))
                    label { span { input type="checkbox" name="active" value="yes" checked[u.user.active]; " Active (untick to deactivate: their tokens and sessions stop working)" } }
                    p { button type="submit" { "Save changes" } }
                }
            }
        }
        section aria-labelledby="password" {
            h2 #password { "Console password" }
            form.action method="post" action={ (base) "/password" } {
                (csrf_field(session))
                (password_field("New password", true))
                button type="submit" { (if u.has_password { "Change password" } else { "Set password" }) }
            }
        }
    }
}

/// The IANA time zone names a time zone field suggests (`list="time-zones"`); any other is refused.
fn zone_choices() -> Markup {
    html! { datalist #time-zones { @for z in chrono_tz::TZ_VARIANTS { option value=(z.name()) {} } } }
}

/// The time zone form: the user's own settings, or an admin setting them for someone.
fn settings_section(session: &SessionInfo, u: &UserView, base: &str) -> Markup {
    html! {
        section aria-labelledby="settings" {
            h2 #settings { "Settings" }
            form.action method="post" action={ (base) "/time-zone" } {
                (csrf_field(session))
                label { "Time zone (an IANA name, e.g. Europe/Berlin)"
                    input name="time_zone" list="time-zones" required value=(u.user.time_zone);
                }
                (zone_choices())
                button type="submit" { "Save time zone" }
            }
            p.hint { "The console shows every time in this zone, with its abbreviation, and reads the times typed into forms in it." }
        }
    }
}

/// The user's API tokens, with a revoke button on each the domain lets this user revoke, and the form
/// to issue one.
fn tokens_section(session: &SessionInfo, base: &str, tokens: &[TokenView], actions: &[AvailableAction]) -> Markup {
    html! {
        section aria-labelledby="tokens" {
            h2 #tokens { "API tokens" }
            @if tokens.is_empty() { p { "No tokens." } }
            @else {
                div.table { table {
                    thead { tr { th { "Token" } th { "Label" } th { "State" } th { "Created" } th { span.sr { "Revoke" } } } }
                    tbody {
                        @for t in tokens {
                            tr {
                                td { (t.id) }
                                td { (t.label) }
                                td { (badge(&t.state)) }
                                td { (time(session.time_zone, &t.meta.created_at)) }
                                td {
                                    @if AvailableAction::allows_on(actions, "revoke_token", &t.id) {
                                        form.action method="post" action={ "/tokens/" (t.id) "/revoke" } {
                                            (csrf_field(session))
                                            button.secondary type="submit" { "Revoke " (t.id) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            form.action method="post" action={ (base) "/tokens" } {
                (csrf_field(session))
                label { "What it is for" input name="label" required placeholder="ci"; }
                button type="submit" { "Issue a token" }
            }
            p.hint { "The token is shown once, right after it is issued; only its hash is kept." }
        }
    }
}

/// The page that shows a new token's secret, once.
pub fn token_issued(session: &SessionInfo, t: &TokenView) -> Markup {
    let title = format!("Token {} for {}", t.id, t.user);
    let body = html! {
        h1 { (title) }
        section aria-labelledby="secret" {
            h2 #secret { "Copy it now" }
            p role="alert" { "This is the only time the token is shown; Railyard keeps only its hash." }
            p { label { "Token “" (t.label) "”" input readonly value=(t.token.as_deref().unwrap_or_default()) size="70"; } }
            p { "Use it as " code { "Authorization: Bearer …" } ", or paste it on the sign-in page." }
            p { a href={ "/users/" (t.user) "#tokens" } { "Back to " (t.user) } }
        }
    };
    layout::page(&title, Some(session), body)
}
