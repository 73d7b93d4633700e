use std::collections::BTreeMap;

use super::*;
use crate::action::{Action, CommandAction, HttpAction};

fn var(name: &str, scope: Scope, value: &str) -> Variable {
    Variable {
        id: "VAR-1".into(),
        name: name.into(),
        scope,
        value: value.into(),
        created_by: "erin".into(),
        updated_by: "erin".into(),
    }
}

fn env(e: &str) -> Scope {
    Scope::Environment { environment: e.into() }
}

fn app(a: &str) -> Scope {
    Scope::Application { application: a.into() }
}

#[test]
fn references_are_found_each_once_in_order() {
    let cases: &[(&str, &[&str])] = &[
        ("no references", &[]),
        ("${var.A}", &["A"]),
        ("x ${var.B} y ${var._c9} ${var.B}", &["B", "_c9"]),
        ("$${var.A}", &["A"]),
        ("${HOST} and ${RAILYARD_ENVIRONMENT}", &[]),
        ("${var.A}${var.B}", &["A", "B"]),
    ];
    for (text, want) in cases {
        let got = references(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(got, want.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{text}");
    }
}

#[test]
fn malformed_references_are_refused_saying_what_is_allowed() {
    let long = format!("${{var.{}}}", "a".repeat(65));
    let cases: &[(&str, &str)] = &[
        ("${var.}", "names no variable"),
        ("${var.bad-name}", "not a variable reference"),
        ("${var.9lives}", "not a variable reference"),
        ("echo ${var.X", "is not closed"),
        ("${var.X ${var.Y}", "not a variable reference"),
        (&long, "at most 64"),
    ];
    for (text, want) in cases {
        match references(text) {
            Err(e) => assert!(e.contains(want), "{text}: {e}"),
            Ok(n) => panic!("{text} was taken: {n:?}"),
        }
    }
}

#[test]
fn names_and_values_are_validated() {
    let actor = Actor::new("erin", &[Role::ReleaseEngineer]);
    let cases: &[(&str, usize, bool)] = &[
        ("GREETING", 5, true),
        ("_x", 0, true),
        ("a1_B", MAX_VALUE_BYTES, true),
        ("", 1, false),
        ("1ABC", 1, false),
        ("A-B", 1, false),
        ("A B", 1, false),
        (&"N".repeat(64), 1, true),
        (&"N".repeat(65), 1, false),
        ("OK", MAX_VALUE_BYTES + 1, false),
    ];
    for (name, len, ok) in cases {
        let spec = VariableSpec { name: name.to_string(), value: "v".repeat(*len), scope: Scope::Global };
        assert_eq!(Variable::create("VAR-1".into(), spec, &actor).is_ok(), *ok, "{name} with {len} bytes");
    }
}

#[test]
fn an_environment_wins_over_an_application_which_wins_over_global() {
    let vars = [
        var("A", Scope::Global, "global"),
        var("A", app("PAY"), "pay"),
        var("A", env("prod"), "prod"),
        var("B", Scope::Global, "global"),
        var("B", app("PAY"), "pay"),
        var("C", Scope::Global, "global"),
        var("D", app("WEB"), "web"),
        var("E", env("test"), "test"),
    ];
    type Case<'a> = (Option<&'a str>, &'a str, &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (Some("PAY"), "prod", &[("A", "prod"), ("B", "pay"), ("C", "global")]),
        (Some("PAY"), "test", &[("A", "pay"), ("B", "pay"), ("C", "global"), ("E", "test")]),
        (Some("WEB"), "prod", &[("A", "prod"), ("B", "global"), ("C", "global"), ("D", "web")]),
        (None, "dev", &[("A", "global"), ("B", "global"), ("C", "global")]),
    ];
    for (application, environment, want) in cases {
        let got = effective(&vars, *application, environment);
        let want: BTreeMap<String, String> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(got, want, "{application:?} in {environment}");
    }
}

#[test]
fn resolving_replaces_every_field_or_names_what_is_missing() {
    let values: BTreeMap<String, String> = [("GREETING", "hello"), ("HOST", "h.example")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut c = CommandAction::new("/bin/${var.GREETING}");
    c.args = vec!["-c".into(), "echo ${var.GREETING}".into()];
    c.env.insert("X".into(), "${var.HOST}".into());
    c.working_dir = Some("/tmp/${var.HOST}".into());
    let Ok(Action::Command(r)) = Action::Command(c).resolve_variables(&values) else { panic!("resolves") };
    assert_eq!(r.program, "/bin/hello");
    assert_eq!(r.args, ["-c", "echo hello"]);
    assert_eq!(r.env["X"], "h.example");
    assert_eq!(r.working_dir.as_deref(), Some("/tmp/h.example"));

    let mut h = HttpAction::new("POST", "https://${var.HOST}/x");
    h.headers.insert("X-Who".into(), "${var.NOPE}".into());
    h.body = Some("{\"a\": \"${var.GONE}\", \"b\": \"${var.GREETING}\"}".into());
    let action = Action::Http(h);
    assert_eq!(action.resolve_variables(&values), Err(vec!["GONE".to_string(), "NOPE".to_string()]));
    let names: Vec<String> = action.variable_references().map(|s| s.into_iter().collect()).unwrap_or_default();
    assert_eq!(names, ["GONE", "GREETING", "HOST", "NOPE"]);
    assert!(action.validate().is_ok(), "a URL with a reference is a valid URL");
}

#[test]
fn a_malformed_reference_names_its_field() {
    let mut h = HttpAction::new("GET", "https://example.test/${var.}");
    h.body = Some("${var.a-b}".into());
    let errors = Action::Http(h).variable_references().err().unwrap_or_default();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["action.url", "action.body"]);
}

#[test]
fn who_may_manage_which_scope() {
    let erin = Actor::new("erin", &[Role::ReleaseEngineer]);
    let paula = Actor::new("paula", &[Role::ProductOwner]);
    let dan = Actor::new("dan", &[Role::Developer]);
    let root = Actor::new("root", &[Role::Admin]);
    let cases: &[(&Actor, Scope, bool)] = &[
        (&erin, Scope::Global, true),
        (&erin, env("prod"), true),
        (&erin, app("PAY"), true),
        (&paula, app("PAY"), true),
        (&paula, app("WEB"), false),
        (&paula, env("prod"), false),
        (&paula, Scope::Global, false),
        (&dan, app("PAY"), false),
        (&root, env("prod"), true),
    ];
    for (actor, scope, ok) in cases {
        let owner = match scope.target() {
            Some("PAY") => Some("paula"),
            Some("WEB") => Some("wes"),
            _ => None,
        };
        let got = may_manage(actor, scope, owner);
        assert_eq!(got.is_ok(), *ok, "{} on {scope}: {got:?}", actor.name);
        if let Err(e) = got {
            assert!(matches!(e, DomainError::NotAllowed(_)), "{e:?}");
        }
    }
}

#[test]
fn scopes_have_unique_keys_and_json() {
    assert_eq!(Scope::Global.key(), "global");
    assert_eq!(env("prod").key(), "environment:prod");
    assert_eq!(app("PAY").key(), "application:PAY");
    let json = serde_json::to_value(env("prod")).unwrap_or_default();
    assert_eq!(json, serde_json::json!({"kind": "environment", "environment": "prod"}));
}

#[test]
fn secret_references_are_found_apart_from_variables() {
    let a = Action::Command(CommandAction {
        args: vec!["--token=${secret.TOKEN}".into(), "${var.HOST}".into()],
        ..CommandAction::new("deploy")
    });
    assert_eq!(a.secret_references().expect("valid"), ["TOKEN".to_string()].into());
    assert_eq!(a.variable_references().expect("valid"), ["HOST".to_string()].into());
    let bad = Action::Command(CommandAction::new("x ${secret.bad-name}"));
    let e = bad.secret_references().expect_err("malformed");
    assert!(e[0].message.contains("not a secret reference"), "{e:?}");
    let unclosed = Action::Command(CommandAction::new("x ${secret.TOKEN"));
    let e = unclosed.secret_references().expect_err("unclosed");
    assert!(e[0].message.contains("not closed") && !e[0].message.contains("TOKEN"), "{e:?}");
}

#[test]
fn variables_and_secrets_resolve_in_one_pass() {
    let a = Action::Command(CommandAction {
        args: vec!["${var.HOST}:${secret.TOKEN}".into()],
        ..CommandAction::new("deploy")
    });
    let vars = BTreeMap::from([("HOST".to_string(), "${secret.TOKEN}".to_string())]);
    let secrets = BTreeMap::from([("TOKEN".to_string(), "t0k3n ${var.HOST}".to_string())]);
    let Action::Command(c) = a.resolve_references(&vars, &secrets).expect("resolved") else { panic!("command") };
    // A value inserted is never scanned again.
    assert_eq!(c.args, vec!["${secret.TOKEN}:t0k3n ${var.HOST}".to_string()]);
    let missing = a.resolve_references(&vars, &BTreeMap::new()).expect_err("no secret");
    assert_eq!(missing, vec!["${secret.TOKEN}".to_string()]);
    let Action::Command(c) = a.resolve_secrets(&secrets).expect("secrets only") else { panic!("command") };
    assert_eq!(c.args, vec!["${var.HOST}:t0k3n ${var.HOST}".to_string()]);
}
