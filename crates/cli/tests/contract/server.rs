//! A real `railyard serve` on a fresh SQLite file on 127.0.0.1, with a known admin token.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_TOKEN: &str = "ry_contract_test_admin_token_0001";

pub struct Server {
    pub child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("railyard.db");
        let mut child = Command::new(env!("CARGO_BIN_EXE_railyard"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &format!("sqlite://{}", db.display())])
            .env("RAILYARD_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the server printed its address");
            if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        Server { child, url, _dir: dir }
    }

    /// A field of the process's /proc status in KiB (`VmRSS`, `VmHWM`: its peak resident set).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field).and_then(|r| r.trim_start_matches(':').trim().strip_suffix("kB")))
            .map(|v| v.trim().parse().unwrap())
            .unwrap_or_else(|| panic!("no {field} in /proc/<pid>/status"))
    }
}
