//! The OpenAPI document is usable by the tools people use. openapi-python-client (from PyPI, pinned, with
//! mypy and ruff; `scripts/test` installs them into `target/openapi-client-venv`) generates a Python
//! client from the document a live `railyard serve` serves, and:
//!
//! - says nothing about the document: any warning or error of the generator fails the test, listed;
//! - makes a function of every operation the document has (counted from the served document);
//! - the generated package and a train flow written against it (`python/train_flow.py`) type-check
//!   under `mypy --strict`;
//! - the flow runs against the server: users and tokens, a train created, submitted, approved, through
//!   scoping and construction into verification, read back; refused actions come back as the client's
//!   typed `Problem` with the guard codes;
//! - the server, asked directly, holds what the flow did.
//!
//! The client is written to `target/openapi-client/` (kept after the run, to read), so that mypy's cache
//! in `target/openapi-client-mypy-cache` serves the next run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::server::{ADMIN_TOKEN, Server};

/// The generated package's name: the flow imports it.
const PACKAGE: &str = "railyard_client";

fn target() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

/// The virtual environment's `bin`, with the generator, mypy and ruff in it.
fn venv_bin() -> PathBuf {
    let bin = target().join("openapi-client-venv/bin");
    for tool in ["openapi-python-client", "mypy", "ruff", "python"] {
        assert!(
            bin.join(tool).exists(),
            "{tool} is not installed in {}: run scripts/test, which installs the pinned openapi-python-client, \
             mypy and ruff into target/openapi-client-venv (python3 -m venv, pip install)",
            bin.display()
        );
    }
    bin
}

/// Runs `cmd` off the async runtime, timed.
async fn run(mut cmd: Command) -> (Output, Duration) {
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    (out, started.elapsed())
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Every operation of the document, as `METHOD path`.
fn operations(doc: &Value) -> Vec<String> {
    let methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths in the document") {
        for method in methods.iter().filter(|m| item.get(**m).is_some()) {
            ops.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    ops
}

/// The operation modules of the generated client: one per operation, under `api/<tag>/`.
fn generated_operations(package: &Path) -> Vec<String> {
    let mut modules = Vec::new();
    for tag in std::fs::read_dir(package.join("api")).unwrap().map(|e| e.unwrap().path()) {
        for module in std::fs::read_dir(&tag).into_iter().flatten().map(|e| e.unwrap().path()) {
            let name = module.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".py") && name != "__init__.py" {
                modules.push(name);
            }
        }
    }
    modules
}

#[tokio::test]
async fn a_generated_python_client_type_checks_and_drives_a_train_through_its_stages() {
    let bin = venv_bin();
    let mut server = Server::start();
    let started = Instant::now();
    let work = target().join("openapi-client");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contract/python");
    for file in ["generator.yaml", "mypy.ini", "train_flow.py"] {
        std::fs::copy(here.join(file), work.join(file)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());

    // Generation from the served document, as served (saved first: the generator's own fetch hides why it
    // failed, and once failed here), with the generator's own post hooks (ruff).
    let res = match reqwest::get(format!("{}/api/v1/openapi.json", server.url)).await {
        Ok(res) => res,
        Err(e) => panic!("GET /api/v1/openapi.json: {e:?}; the server: {:?}", server.child.try_wait()),
    };
    assert_eq!(res.status(), 200, "GET /api/v1/openapi.json");
    let served = res.text().await.unwrap();
    std::fs::write(work.join("openapi.json"), &served).unwrap();
    let doc: Value = serde_json::from_str(&served).unwrap();
    let mut cmd = Command::new(bin.join("openapi-python-client"));
    cmd.current_dir(&work)
        .args(["generate", "--path", "openapi.json", "--meta", "none", "--output-path", PACKAGE])
        .args(["--config", "generator.yaml", "--fail-on-warning"])
        .env("PATH", &path)
        .env("NO_COLOR", "1");
    let (out, generation) = run(cmd).await;
    let said = text(&out);
    let remarks: Vec<&str> =
        said.lines().map(str::trim).filter(|l| !l.is_empty() && *l != format!("Generating {PACKAGE}")).collect();
    assert!(
        out.status.success() && remarks.is_empty(),
        "openapi-python-client ({}) has {} remarks about the document:\n{}",
        out.status,
        remarks.len(),
        remarks.join("\n")
    );

    // Every operation of the document became a function of the client.
    let ops = operations(&doc);
    let modules = generated_operations(&work.join(PACKAGE));
    assert_eq!(
        modules.len(),
        ops.len(),
        "the document has {} operations, the client {} operation modules",
        ops.len(),
        modules.len()
    );

    // The generated package and the flow type-check; the flow runs against the live server meanwhile
    // (both only read the package).
    let mut mypy = Command::new(bin.join("mypy"));
    mypy.current_dir(&work)
        .args(["--config-file", "mypy.ini", "--no-color-output", "--cache-dir"])
        .arg(target().join("openapi-client-mypy-cache"))
        .args([PACKAGE, "train_flow.py"]);
    let mut flow = Command::new(bin.join("python"));
    flow.current_dir(&work)
        .arg("train_flow.py")
        .env("RAILYARD_URL", &server.url)
        .env("RAILYARD_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let ((typed, typing), (out, flow)) = tokio::join!(run(mypy), run(flow));
    assert!(typed.status.success(), "mypy --strict finds type errors in the client or the flow:\n{}", text(&typed));
    assert!(
        out.status.success(),
        "the train flow through the generated client failed ({}):\n{}",
        out.status,
        text(&out)
    );
    println!(
        "{} operations, {} modules generated in {:.1} s; mypy {:.1} s ({}); flow {:.1} s; {:.1} s in all:\n{}",
        ops.len(),
        modules.len(),
        generation.as_secs_f64(),
        typing.as_secs_f64(),
        text(&typed).trim(),
        flow.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stdout)
    );

    // The server holds what the client did: the train in verification, managed by rita.
    let http = reqwest::Client::new();
    let train: Value = http
        .get(format!("{}/api/v1/trains/RT-1", server.url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((train["state"].as_str(), train["manager"].as_str()), (Some("verification"), Some("rita")), "{train}");
    assert_eq!(train["train_approval"]["state"], "approved", "{train}");
    assert_eq!(train["gates"]["scoping"]["criteria"][0]["state"], "met", "{train}");
}
