//! `railyard audit head` and `railyard audit verify [--expect SEQ:HASH]` against a database edited behind
//! the server's back: the newest events deleted, a record edited without an event.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{BIN, Server, create_train, ry, start_server};

/// Plain SQL on the server's database, as someone with database access would run it.
enum Db {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Db {
    fn sql(&self, statement: &str) -> u64 {
        match self {
            Db::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                conn.execute(statement, []).unwrap() as u64
            }
            Db::Postgres(url) => runtime().block_on(async {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                client.execute(statement, &[]).await.unwrap()
            }),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// `railyard serve` on a fresh PostgreSQL database of the test cluster.
pub(crate) fn start_server_on_postgres() -> (Server, String) {
    let url = runtime().block_on(railyard_store_postgres::testing::fresh_database());
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url])
        .env_remove("RAILYARD_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut base, mut token) = (None, None);
    while base.is_none() {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("the server started");
        if let Some(t) = line.trim().strip_prefix("ry_") {
            token = Some(format!("ry_{t}"));
        }
        if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
            base = rest.split_whitespace().next().map(str::to_string);
        }
    }
    let db = dir.path().join("unused");
    let server = Server { child, url: base.unwrap(), admin_token: token.expect("the admin token"), db, dir };
    (server, url)
}

/// Changes, a witnessed head, the newest three events deleted (and on PostgreSQL `chain_head` moved
/// back to match): `verify` fails naming what is missing, `--expect` with the witnessed head fails.
fn deleted_events_fail_verify(s: &Server, db: &Db, head_moved_back: bool) {
    ry(s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let r = Some(s.admin_token.as_str());
    let rt = create_train(s, &s.admin_token, "Audited");
    ry(s, r, &["train", "policy", &rt, "executive", "--level", "admin"]).ok();
    ry(s, r, &["train", "update", &rt, "--purpose", "witnessed"]).ok();

    let head = ry(s, r, &["audit", "head", "--output", "json"]).json();
    let (seq, hash) = (head["seq"].as_i64().unwrap(), head["hash"].as_str().unwrap().to_string());
    let witness = format!("{seq}:{hash}");
    assert_eq!(head["expect"].as_str(), Some(witness.as_str()), "the head is printed ready for --expect");
    let text = ry(s, r, &["audit", "head"]).ok();
    assert!(text.contains(&witness), "the plain head names seq and hash: {text}");
    let ok = ry(s, r, &["audit", "verify", "--expect", &witness]).ok();
    assert!(ok.contains("audit chain intact") && ok.contains(&format!("expected head {seq} present")), "{ok}");

    let kept = seq - 3;
    assert_eq!(db.sql(&format!("DELETE FROM events WHERE seq > {kept}")), 3);
    if head_moved_back {
        let moved =
            db.sql(&format!("UPDATE chain_head SET seq = {kept}, hash = (SELECT hash FROM events WHERE seq = {kept})"));
        assert_eq!(moved, 1);
    }

    let run = ry(s, r, &["audit", "verify"]);
    println!("verify after deleting events {} to {seq}:\n{}{}", kept + 1, run.stdout, run.stderr);
    assert!(!run.ok, "verify must fail after the newest events were deleted");
    if head_moved_back {
        // The chain is consistent again; the train the deleted events changed is ahead of the log.
        assert!(run.stdout.contains(&format!("train {rt}: the record says version")), "{}", run.stdout);
    } else {
        let missing = format!("events {} to {seq} are missing: the stored chain head is event {seq}", kept + 1);
        assert!(run.stdout.contains(&missing), "{}", run.stdout);
    }

    let run = ry(s, r, &["audit", "verify", "--expect", &witness]);
    assert!(!run.ok, "verify --expect must fail once the witnessed head is gone");
    let named = format!("the expected head, event {seq} (hash {hash}), is no longer in the log");
    let chain_named = format!("events {} to {seq} are missing", kept + 1);
    assert!(run.stdout.contains(&named) || (!head_moved_back && run.stdout.contains(&chain_named)), "{}", run.stdout);
    if head_moved_back {
        assert!(run.stdout.contains(&named), "only the witness names the head: {}", run.stdout);
    }

    ry(s, r, &["audit", "verify", "--expect", "12"]).refused("SEQ:HASH");
}

#[test]
fn deleting_the_newest_events_fails_verify_on_sqlite() {
    let s = start_server();
    let db = Db::Sqlite(s.db.clone());
    deleted_events_fail_verify(&s, &db, false);
}

#[test]
fn deleting_the_newest_events_and_moving_the_head_back_fails_verify_on_postgres() {
    let (s, url) = start_server_on_postgres();
    deleted_events_fail_verify(&s, &Db::Postgres(url), true);
}

#[test]
fn a_record_edited_without_an_event_is_named_by_verify() {
    let s = start_server();
    ry(&s, None, &["login", "--server", &s.url, "--token", &s.admin_token]).ok();
    let r = Some(s.admin_token.as_str());
    let rt = create_train(&s, &s.admin_token, "Audited");
    ry(&s, r, &["audit", "verify"]).ok();
    let db = Db::Sqlite(s.db.clone());
    let n = db.sql(&format!(
        "UPDATE records SET doc = replace(doc, 'Audited', 'Forged'), version = version + 1 \
         WHERE kind = 'train' AND id = '{rt}'"
    ));
    assert_eq!(n, 1);
    let run = ry(&s, r, &["audit", "verify"]);
    println!("verify after editing {rt}:\n{}{}", run.stdout, run.stderr);
    assert!(!run.ok, "verify must fail after a record was edited without an event");
    let named = format!("train {rt}: the record says version 2");
    assert!(run.stdout.contains(&named) && run.stdout.contains("left version 1"), "{}", run.stdout);
}
