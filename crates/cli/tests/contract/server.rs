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
        Server::start_with(false)
    }

    /// With `demo`, the demo company is loaded before this returns: trains in every state, releases,
    /// turnovers, deployments and approvals, so that ids such as `RT-4` name real objects. The demo
    /// schedules a deployment two seconds ahead, which a very busy machine can miss; then the server is
    /// started again on a fresh database (three times at most), saying why.
    pub fn start_with(demo: bool) -> Server {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Server::launch(demo) {
                Ok(server) => return server,
                Err(why) => {
                    eprintln!("the server did not come up with its data: {why}; starting it again");
                    failures.push(why);
                }
            }
        }
        panic!("the server did not come up with its data three times: {failures:?}");
    }

    fn launch(demo: bool) -> Result<Server, String> {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("railyard.db");
        let mut child = Command::new(env!("CARGO_BIN_EXE_railyard"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database", &format!("sqlite://{}", db.display())])
            .args(if demo { &["--demo"][..] } else { &[] })
            .env("RAILYARD_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Both streams line by line into one channel (a demo that fails to load says so on stderr).
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx2.send(line);
            }
        });
        let mut server = Server { child, url: String::new(), _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .map_err(|_| "no address (or no demo) within 300 s".to_string())?;
            if let Some(rest) = line.strip_prefix("Railyard is listening on ") {
                server.url = rest.split_whitespace().next().unwrap_or_default().to_string();
            }
            if line.contains("demo data could not be loaded") {
                return Err(line);
            }
            if !server.url.is_empty() && (!demo || line.starts_with("Demo data loaded")) {
                return Ok(server);
            }
        }
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
