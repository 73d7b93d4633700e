//! The runner's own overhead: `true` run 200 times through `run()` against spawning it directly with
//! `std::process::Command` (output piped in both), one after the other, then 200 in groups of 50 at once.
//!
//!     cargo run --release -p railyard-runner --example overhead

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use railyard_runner::{Action, CommandAction, Limits, RunContext, VecSink, run};

const RUNS: u32 = 200;
const GROUP: u32 = 50;

fn direct() -> Duration {
    let begin = Instant::now();
    for _ in 0..RUNS {
        let out = Command::new("true").stdin(Stdio::null()).output();
        assert!(out.is_ok_and(|o| o.status.success()), "true failed");
    }
    begin.elapsed()
}

fn direct_groups() -> Duration {
    let begin = Instant::now();
    for _ in 0..RUNS / GROUP {
        let children: Vec<_> = (0..GROUP)
            .map(|_| Command::new("true").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn())
            .collect();
        for child in children {
            assert!(child.and_then(|c| c.wait_with_output()).is_ok_and(|o| o.status.success()), "true failed");
        }
    }
    begin.elapsed()
}

async fn through_runner() -> Duration {
    let action = Action::Command(CommandAction::new("true"));
    let ctx = RunContext::new().with("RAILYARD_TURNOVER", "TO-1");
    let limits = Limits::default();
    let begin = Instant::now();
    for _ in 0..RUNS {
        let mut sink = VecSink::new();
        let outcome = run(&action, &ctx, &mut sink, &limits).await;
        assert!(outcome.succeeded(), "{outcome:?}");
    }
    begin.elapsed()
}

async fn through_runner_groups() -> Duration {
    let begin = Instant::now();
    for _ in 0..RUNS / GROUP {
        let tasks: Vec<_> = (0..GROUP)
            .map(|_| {
                tokio::spawn(async {
                    let action = Action::Command(CommandAction::new("true"));
                    let mut sink = VecSink::new();
                    run(&action, &RunContext::default(), &mut sink, &Limits::default()).await
                })
            })
            .collect();
        for task in tasks {
            assert!(task.await.is_ok_and(|o| o.succeeded()), "true failed");
        }
    }
    begin.elapsed()
}

fn report(label: &str, direct: Duration, runner: Duration) {
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(RUNS);
    println!(
        "{label}: direct {:.1} ms ({:.3} ms/run), run() {:.1} ms ({:.3} ms/run); overhead {:+.3} ms/run, ratio {:.2}",
        direct.as_secs_f64() * 1000.0,
        per(direct),
        runner.as_secs_f64() * 1000.0,
        per(runner),
        per(runner) - per(direct),
        runner.as_secs_f64() / direct.as_secs_f64(),
    );
}

#[tokio::main]
async fn main() {
    // Warm up: page cache, the runtime's threads, the first spawn.
    let _ = direct();
    let _ = through_runner().await;

    let (d, r) = (direct(), through_runner().await);
    report("one after another", d, r);
    let (d, r) = (direct_groups(), through_runner_groups().await);
    report(&format!("groups of {GROUP}"), d, r);
}
