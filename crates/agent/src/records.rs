//! The runs in flight, on disk: while a command runs, its processes (the runner crate's [`RunProcess`]:
//! its host, process group, start time, control group, run id and working directory) are recorded in
//! `<work root>/runs/<claim>.json`, and the file is removed when the run ends. A runner killed outright
//! (`kill -9`, the host's OOM killer) leaves its files behind; the next runner started on the same work
//! root kills what is left of those runs ([`railyard_runner::kill_recorded`], which guards against pid
//! reuse and leaves records of another host alone), removes their working directories, and the files.

use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use railyard_runner::{Reaped, RunProcess, Sandbox};

/// The largest record file read back.
const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// One record read back: the run's claim and its processes.
pub type Left = (String, RunProcess);

/// Where the runs in flight are recorded.
#[derive(Debug, Clone)]
pub struct Records {
    dir: PathBuf,
}

/// What [`Records::reap`] found: each left-over run's claim and how many processes it killed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reaping {
    pub killed: Vec<(String, usize)>,
    /// Records that could not be read, removed.
    pub unreadable: Vec<PathBuf>,
}

impl Records {
    /// The records kept in `dir`, made (mode 0700) when missing.
    pub fn open(dir: PathBuf) -> io::Result<Records> {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        Ok(Records { dir })
    }

    /// The directory of the records.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of one claim: its id with every character but letters, digits, `-` and `_` written as
    /// `%XX`, so that no claim can name a path elsewhere and two claims never share a file.
    pub fn file(&self, claim: &str) -> PathBuf {
        let mut name = String::with_capacity(claim.len() + 5);
        for b in claim.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                name.push(char::from(b));
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
        name.push_str(".json");
        self.dir.join(name)
    }

    /// Records the processes of a run that just started (written whole, then renamed into place).
    pub fn record(&self, claim: &str, process: &RunProcess) -> io::Result<()> {
        let file = self.file(claim);
        let part = file.with_extension("json.part");
        let text = serde_json::to_vec(&WithClaim { claim, process }).map_err(io::Error::other)?;
        let mut out = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&part)?;
        out.write_all(&text)?;
        out.sync_all()?;
        std::fs::rename(&part, &file)
    }

    /// Forgets a run that ended.
    pub fn remove(&self, claim: &str) {
        let file = self.file(claim);
        if let Err(e) = std::fs::remove_file(&file)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(file = %file.display(), error = %e, "could not remove the record of a run that ended");
        }
    }

    /// The records left behind: each file and what it holds (`None`: unreadable).
    pub fn left(&self) -> io::Result<Vec<(PathBuf, Option<Left>)>> {
        let mut left = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "part") {
                left.push((path, None));
                continue;
            }
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            left.push((path.clone(), read_record(&path)));
        }
        left.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(left)
    }

    /// Kills what is left of the runs recorded here (see the module doc) and removes their records.
    /// Blocking: call it off the runtime's threads.
    pub fn reap(&self, sandbox: &Arc<Sandbox>) -> io::Result<Reaping> {
        let mut reaping = Reaping::default();
        for (path, record) in self.left()? {
            match record {
                None => reaping.unreadable.push(path.clone()),
                Some((claim, process)) => {
                    let reaped = railyard_runner::kill_recorded(&process);
                    if reaped != Reaped::ElsewhereRecorded
                        && let Some(dir) = &process.work_dir
                    {
                        sandbox.remove_leftover_dir(dir);
                    }
                    let killed = match reaped {
                        Reaped::Killed(n) => n,
                        Reaped::Gone | Reaped::ElsewhereRecorded => 0,
                    };
                    reaping.killed.push((claim, killed));
                }
            }
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != io::ErrorKind::NotFound
            {
                return Err(io::Error::new(e.kind(), format!("cannot remove {}: {e}", path.display())));
            }
        }
        Ok(reaping)
    }
}

#[derive(serde::Serialize)]
struct WithClaim<'a> {
    claim: &'a str,
    process: &'a RunProcess,
}

#[derive(serde::Deserialize)]
struct Recorded {
    claim: String,
    process: RunProcess,
}

fn read_record(path: &Path) -> Option<Left> {
    use std::io::Read as _;
    let mut text = Vec::new();
    std::fs::File::open(path).ok()?.take(MAX_RECORD_BYTES).read_to_end(&mut text).ok()?;
    let r: Recorded = serde_json::from_slice(&text).ok()?;
    Some((r.claim, r.process))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pgid: i32) -> RunProcess {
        RunProcess {
            host: railyard_runner::host_id().unwrap_or("elsewhere").to_string(),
            pgid,
            started: 1,
            uid: 65534,
            work_dir: None,
            cgroup: None,
            run_id: Some(format!("no-such-run-{}", std::process::id())),
        }
    }

    #[test]
    fn claims_name_files_inside_the_directory_only_and_never_share_one() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::open(dir.path().join("runs")).unwrap();
        let names: Vec<PathBuf> =
            ["DE-5:R1:1", "../../etc/passwd", "DE-5%3AR1%3A1", "a/b"].iter().map(|c| records.file(c)).collect();
        assert_eq!(names[0].file_name().unwrap(), "DE-5%3AR1%3A1.json");
        assert_eq!(names[1].file_name().unwrap(), "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd.json");
        assert_ne!(names[0], names[2]);
        assert!(names.iter().all(|n| n.parent() == Some(records.dir())));
    }

    #[test]
    fn a_record_is_kept_while_the_run_runs_and_gone_after() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::open(dir.path().join("runs")).unwrap();
        records.record("DE-5:R1:1", &process(4242)).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(records.file("DE-5:R1:1")).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let left = records.left().unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].1, Some(("DE-5:R1:1".to_string(), process(4242))));
        records.remove("DE-5:R1:1");
        records.remove("DE-5:R1:1"); // twice: nothing to say
        assert!(records.left().unwrap().is_empty());
    }

    #[test]
    fn leftovers_are_reaped_and_their_records_removed_unreadable_ones_too() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::open(dir.path().join("runs")).unwrap();
        // A process group that no longer exists (the leader's start time is not this one's), of this host,
        // and one of another host: neither is touched, both records go.
        records.record("DE-1:R1:1", &process(i32::MAX - 7)).unwrap();
        let mut elsewhere = process(1);
        elsewhere.host = "another-boot/pid:[1]".into();
        records.record("DE-2:R1:1", &elsewhere).unwrap();
        std::fs::write(records.dir().join("garbage.json"), b"{not json").unwrap();
        std::fs::write(records.dir().join("DE-3.json.part"), b"{").unwrap();
        std::fs::write(records.dir().join("notes.txt"), b"kept").unwrap();
        let sandbox = railyard_runner::Sandbox::for_this_process();
        let reaping = records.reap(&sandbox).unwrap();
        assert_eq!(reaping.killed, [("DE-1:R1:1".to_string(), 0), ("DE-2:R1:1".to_string(), 0)]);
        assert_eq!(reaping.unreadable.len(), 2);
        let rest: Vec<_> = std::fs::read_dir(records.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(rest, ["notes.txt"]);
    }
}
