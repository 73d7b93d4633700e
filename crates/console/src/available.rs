//! The domain's available actions on a page: which to show and why one is refused.
//!
//! A page shows an action's button from the list `Service::*_actions_for` gives for the signed-in user,
//! never from states or roles of its own. An allowed action is a button. A refused action is shown,
//! disabled with the guards that block it, only when the user could take it once something else is
//! done (a criterion met, a release verified, a deployment finished); one refused for who the user is
//! or for the object's state is not shown at all.

use maud::{Markup, html};
use railyard_domain::AvailableAction;

/// Whether a guard is about who the user is or a state that will not come back rather than work still
/// to do: a role the user lacks, the wrong state, a train past the point (in deployment, closed to
/// releases), or an object rule (`not_manager_or_engineer`, `not_owner`,
/// `not_proposed`, `names_another_developer`, ...).
fn for_good(code: &str) -> bool {
    const FOR_GOOD: [&str; 4] = ["role_required", "wrong_state", "train_in_deployment", "train_closed_to_releases"];
    FOR_GOOD.contains(&code) || code.starts_with("not_") || code.starts_with("names_another_")
}

/// Whether a refused action waits on work still to do, so is shown disabled with its guards.
pub fn waiting(a: &AvailableAction) -> bool {
    !a.allowed && !a.guards.is_empty() && !a.guards.iter().any(|g| for_good(&g.code))
}

/// What blocks a refused action, as the domain words it; nothing for an allowed one.
pub fn blocked_by(a: &AvailableAction) -> Markup {
    html! {
        @if !a.allowed {
            p.hint { "Not yet:" }
            ul.guards { @for g in &a.guards { li { (g.message) } } }
        }
    }
}
