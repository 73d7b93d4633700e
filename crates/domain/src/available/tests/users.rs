//! A user's actions: edit, set_password, manage_tokens and revoke_token on each token, for an admin,
//! the user themselves and someone else.

use super::*;
use crate::{TokenFacts, user_actions};

fn tokens() -> Vec<TokenFacts> {
    vec![TokenFacts { id: "TK-1".into(), revoked: false }, TokenFacts { id: "TK-2".into(), revoked: true }]
}

fn codes_of(list: &[AvailableAction], action: &str, on: Option<&str>) -> Vec<String> {
    let a = list.iter().find(|a| a.action == action && a.on.as_deref() == on).expect("the action is listed");
    assert_eq!(a.allowed, a.guards.is_empty(), "{a:?}");
    a.guards.iter().map(|g| g.code.clone()).collect()
}

#[test]
fn an_admin_manages_everyone_and_each_user_keeps_their_own_tokens() {
    let ok: &[&str] = &[];
    let role: &[&str] = &["role_required"];
    let gone: &[&str] = &["wrong_state"];
    let ada = Actor::new("ada", &[Role::Admin]);
    // (who, whose page, edit, set_password, manage_tokens, revoke TK-1, revoke TK-2 (revoked))
    let table: [(Actor, &str, [&[&str]; 5]); 6] = [
        (ada.clone(), "dan", [ok, ok, ok, ok, gone]),
        (ada, "ada", [ok, ok, ok, ok, gone]),
        (dan(), "dan", [role, role, ok, ok, gone]),
        (vic(), "vic", [role, role, ok, ok, gone]),
        (dan(), "vic", [role, role, role, role, role]),
        (rita(), "dan", [role, role, role, role, role]),
    ];
    for (who, whose, expected) in table {
        let list = user_actions(&who, whose, &tokens());
        let got = [
            codes_of(&list, "edit", None),
            codes_of(&list, "set_password", None),
            codes_of(&list, "manage_tokens", None),
            codes_of(&list, "revoke_token", Some("TK-1")),
            codes_of(&list, "revoke_token", Some("TK-2")),
        ];
        assert_eq!(
            got,
            expected.map(|c| c.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            "{} on {whose}",
            who.name
        );
        no_rule_numbers(&list);
    }
}

#[test]
fn a_revoked_token_is_not_revoked_twice_in_words() {
    let list = user_actions(&dan(), "dan", &tokens());
    let twice = list.iter().find(|a| a.on.as_deref() == Some("TK-2")).expect("TK-2");
    assert_eq!(twice.guards[0].message, "token TK-2 is already revoked");
    assert!(AvailableAction::allows_on(&list, "revoke_token", "TK-1"));
    assert!(!AvailableAction::allows(&list, "revoke_token"), "a token is revoked by its id");
}
