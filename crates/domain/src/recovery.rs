//! Recovering a lost admin token from the database's host (`railyard admin issue-token`): whoever can
//! open the database directly issues a new token for an admin user. Only an active admin may receive
//! one: recovery gives back admin access, it never makes someone an admin.

use crate::{Guard, Refusal, Role};

/// The actor recorded for a recovery: `local:` and the operating-system user who ran it.
pub fn recovery_actor(os_user: &str) -> String {
    let name: String = os_user.chars().filter(|c| !c.is_control()).take(64).collect();
    format!("local:{}", if name.is_empty() { "unknown" } else { &name })
}

/// Why `user` (active or not, with `roles`) may not receive a recovery token; `None` when they may.
pub fn recovery_refusal(user: &str, active: bool, roles: &[Role]) -> Option<Refusal> {
    let mut guards = Vec::new();
    if !roles.contains(&Role::Admin) {
        let held: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        let held = if held.is_empty() { "none".to_string() } else { held.join(", ") };
        guards.push(Guard::new(
            "not_admin",
            format!("{user} is not an admin (roles: {held}); recovery issues admin tokens to admin users only"),
        ));
    }
    if !active {
        guards.push(Guard::new("user_disabled", format!("{user} is disabled; name an active admin user")));
    }
    (!guards.is_empty()).then(|| Refusal {
        action: "issue_recovery_token".into(),
        object: format!("user {user}"),
        state: if active { "active" } else { "disabled" }.into(),
        guards,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_active_admins_receive_a_recovery_token() {
        assert_eq!(recovery_refusal("ada", true, &[Role::Admin, Role::Viewer]), None);
        let codes = |r: Option<Refusal>| r.map(|r| r.guards.into_iter().map(|g| g.code).collect::<Vec<_>>());
        assert_eq!(codes(recovery_refusal("dan", true, &[Role::Developer])), Some(vec!["not_admin".to_string()]));
        assert_eq!(codes(recovery_refusal("ada", false, &[Role::Admin])), Some(vec!["user_disabled".to_string()]));
        assert_eq!(codes(recovery_refusal("x", false, &[])), Some(vec!["not_admin".into(), "user_disabled".into()]));
        let refusal = recovery_refusal("dan", true, &[Role::Developer]).unwrap();
        assert!(refusal.guards[0].message.contains("roles: developer"), "{}", refusal.guards[0].message);
    }

    #[test]
    fn the_recovery_actor_names_the_local_user() {
        assert_eq!(recovery_actor("root"), "local:root");
        assert_eq!(recovery_actor(""), "local:unknown");
        assert_eq!(recovery_actor("a\nb"), "local:ab");
    }
}
