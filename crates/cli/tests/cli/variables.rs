//! Variables through the CLI: set (create, then change), list by scope, delete.

use crate::common::*;

#[test]
fn an_engineer_sets_lists_changes_and_deletes_variables() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let erin = create_user(&s, "erin", "release_engineer");
    let e = Some(erin.as_str());
    ry(&s, e, &["env", "create", "prod", "--kind", "production"]).ok();
    let out = ry(&s, e, &["variable", "set", "GREETING", "hello"]).ok();
    assert_eq!(field(&out, "scope"), "global");
    let out = ry(&s, e, &["variable", "set", "GREETING", "hello prod", "--environment", "prod"]).ok();
    assert_eq!(field(&out, "scope"), "environment prod");
    // Set again: the value changes, the variable stays.
    let out = ry(&s, e, &["variable", "set", "GREETING", "hi prod", "--environment", "prod"]).ok();
    assert_eq!((field(&out, "value"), field(&out, "version")), ("hi prod".to_string(), "2".to_string()));
    let list = ry(&s, e, &["variable", "list", "--environment", "prod"]).ok();
    assert!(list.contains("hi prod") && !list.contains("hello\n"), "{list}");
    let all = ry(&s, e, &["variable", "list", "--output", "json"]).json();
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    ry(&s, e, &["variable", "set", "bad-name", "v"]).refused("name");
    ry(&s, e, &["variable", "list", "--global", "--environment", "prod"]).refused("cannot be used with");
    let out = ry(&s, e, &["variable", "delete", "GREETING", "--environment", "prod"]).ok();
    assert!(out.contains("Deleted GREETING"), "{out}");
    ry(&s, e, &["variable", "delete", "GREETING", "--environment", "prod"]).refused("no variable GREETING");
    let all = ry(&s, e, &["variable", "list", "--output", "json"]).json();
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "{all}");
}
