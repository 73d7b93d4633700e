//! The people the forms offer (owners, managers, developers, approvers): every user, read page after page,
//! and the one `<select>` that offers them.

use maud::{Markup, html};
use railyard_domain::Actor;
use railyard_service::{MAX_PAGE, Service, UserView};

use crate::error::PageError;
use crate::paging::every;

/// Every user, the deactivated ones too.
pub async fn all(s: &Service, actor: &Actor) -> Result<Vec<UserView>, PageError> {
    every(|cursor| async move { s.users(actor, Some(MAX_PAGE), cursor.as_deref()).await }).await
}

/// The users who can still sign in: those a form may name.
pub async fn active(s: &Service, actor: &Actor) -> Result<Vec<UserView>, PageError> {
    Ok(all(s, actor).await?.into_iter().filter(|u| u.user.active).collect())
}

/// A `<select>` of people named `name`, each shown with their display name, `selected` chosen (kept as
/// a choice even when it is not among them, say a deactivated owner, so saving the form does not change
/// it); `none` adds an empty first choice with that text.
pub fn select(name: &str, people: &[UserView], selected: Option<&str>, none: Option<&str>) -> Markup {
    let selected = selected.filter(|s| !s.is_empty());
    let listed = selected.is_none_or(|s| people.iter().any(|u| u.user.name == s));
    html! {
        select name=(name) {
            @if let Some(text) = none { option value="" selected[selected.is_none()] { (text) } }
            @if let (false, Some(s)) = (listed, selected) { option value=(s) selected { (s) } }
            @for u in people {
                @let n = &u.user.name;
                option value=(n) selected[selected == Some(n.as_str())] {
                    (n) @if !u.user.display_name.is_empty() && u.user.display_name != *n { " (" (u.user.display_name) ")" }
                }
            }
        }
    }
}
