//! `railyard <kind> actions ID`: what you may do now, and why not, as a table.

use crate::common::*;

/// The row of an action in the printed table: (allowed, why not).
fn row(out: &str, action: &str) -> (String, String) {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(action))
        .unwrap_or_else(|| panic!("no row for {action} in:\n{out}"));
    let rest = line[action.len()..].trim_start();
    let (allowed, why) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    (allowed.to_string(), why.trim().to_string())
}

#[test]
fn a_user_sees_which_actions_they_may_take_and_why_not() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let rita = create_user(&s, "rita", "release_manager");
    let val = create_user(&s, "val", "viewer");
    create_user(&s, "eve", "product_owner");
    let erin = create_user(&s, "erin", "release_engineer");
    let r = Some(rita.as_str());
    let id = create_train(&s, &rita, "2027.1");

    let out = ry(&s, r, &["train", "actions", &id]).ok();
    assert!(out.lines().next().is_some_and(|h| h.starts_with("ACTION") && h.contains("WHY NOT")), "{out}");
    let (allowed, why) = row(&out, "submit");
    assert_eq!(allowed, "no", "{out}");
    assert!(why.contains("no executive approval policy is defined"), "{out}");
    assert!(!why.contains("R4"), "the rule in words, not its number: {why}");
    assert_eq!(row(&out, "cancel"), ("yes".to_string(), "-".to_string()));
    assert_eq!(row(&out, "start_construction").0, "no");

    // Once the policy exists, submit is allowed; what the list says, the command does.
    ry(&s, r, &["train", "policy", &id, "executive", "--level", "eve"]).ok();
    assert_eq!(row(&ry(&s, r, &["train", "actions", &id]).ok(), "submit").0, "yes");
    ry(&s, r, &["train", "submit", &id]).ok();
    let out = ry(&s, r, &["train", "actions", &id]).ok();
    assert_eq!(row(&out, "submit").0, "no");
    assert_eq!(row(&out, "start_construction").0, "yes", "{out}");

    // A viewer may do nothing, and is told which roles could.
    let out = ry(&s, Some(&val), &["train", "actions", &id]).ok();
    let (allowed, why) = row(&out, "cancel");
    assert_eq!(allowed, "no");
    assert!(why.contains("val may not do this") && why.contains("release_manager"), "{out}");

    // The same list as JSON, and for environments.
    let list = ry(&s, Some(&val), &["train", "actions", &id, "--output", "json"]).json();
    assert!(
        list.as_array().unwrap().iter().all(|a| a["allowed"] == false && a["guards"][0]["code"] == "role_required")
    );
    ry(&s, Some(&erin), &["env", "create", "staging", "--kind", "staging"]).ok();
    let out = ry(&s, Some(&erin), &["env", "actions", "staging"]).ok();
    assert_eq!(row(&out, "take_offline").0, "yes", "{out}");
    assert_eq!(row(&out, "bring_online").0, "no");
    ry(&s, r, &["app", "create", "PAY", "--name", "Payments"]).ok();
    assert_eq!(row(&ry(&s, r, &["app", "actions", "PAY"]).ok(), "archive").0, "yes");
    let (allowed, why) = row(&ry(&s, Some(&erin), &["app", "actions", "PAY"]).ok(), "archive");
    assert_eq!(allowed, "no");
    assert!(why.contains("erin may not do this"), "{why}");
    ry(&s, Some(&erin), &["train", "actions", "RT-999"]).refused("RT-999");
}
