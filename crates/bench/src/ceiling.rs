//! The ceiling: a bare axum server over one SQLite file (WAL, synchronous=FULL) that inserts one row per
//! POST through a group-committing writer thread and reads one row per GET from a small reader pool — the
//! least any durable HTTP write and read can cost on this machine.

use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::Connection;
use serde_json::{Value, json};
use tokio::sync::oneshot;

type Job = (String, oneshot::Sender<i64>);

#[derive(Clone)]
struct Ceiling {
    writer: mpsc::Sender<Job>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: Arc<std::path::PathBuf>,
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(c)
}

fn writer(conn: Connection, jobs: mpsc::Receiver<Job>) {
    let mut conn = conn;
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < 256 {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let Ok(tx) = conn.transaction() else { continue };
        let mut ids = Vec::with_capacity(batch.len());
        for (value, _) in &batch {
            ids.push(
                tx.execute("INSERT INTO rows (value) VALUES (?1)", [value])
                    .map(|_| tx.last_insert_rowid())
                    .unwrap_or(-1),
            );
        }
        if tx.commit().is_err() {
            continue;
        }
        for ((_, reply), id) in batch.into_iter().zip(ids) {
            let _ = reply.send(id);
        }
    }
}

async fn insert(State(c): State<Ceiling>, Json(v): Json<Value>) -> Result<Json<Value>, StatusCode> {
    let (tx, rx) = oneshot::channel();
    c.writer.send((v.to_string(), tx)).map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    let id = rx.await.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(json!({"id": id})))
}

async fn read(State(c): State<Ceiling>, UrlPath(id): UrlPath<i64>) -> Result<Json<Value>, StatusCode> {
    tokio::task::spawn_blocking(move || {
        let conn = c.readers.lock().ok().and_then(|mut p| p.pop());
        let conn = match conn {
            Some(conn) => conn,
            None => open(&c.path).map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?,
        };
        let value: Result<String, _> = conn.query_row("SELECT value FROM rows WHERE id = ?1", [id], |r| r.get(0));
        if let Ok(mut p) = c.readers.lock() {
            p.push(conn);
        }
        value.map(|v| Json(json!({"id": id, "value": v}))).map_err(|_| StatusCode::NOT_FOUND)
    })
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
}

/// Starts the ceiling server on its own runtime; returns it, its URL and the ids of rows to read.
pub fn start(path: &Path, threads: usize) -> anyhow::Result<(tokio::runtime::Runtime, String, Vec<i64>)> {
    let conn = open(path)?;
    conn.execute_batch("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, value TEXT NOT NULL)")?;
    let mut ids = Vec::new();
    for i in 0..64 {
        conn.execute("INSERT INTO rows (value) VALUES (?1)", [format!("seed {i}")])?;
        ids.push(conn.last_insert_rowid());
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || writer(conn, rx));
    let readers = (0..4).map(|_| open(path)).collect::<rusqlite::Result<Vec<_>>>()?;
    let state = Ceiling { writer: tx, readers: Arc::new(Mutex::new(readers)), path: Arc::new(path.to_path_buf()) };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?;
    let base = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = Router::new().route("/rows", post(insert)).route("/rows/{id}", get(read)).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        anyhow::Ok(base)
    })?;
    Ok((rt, base, ids))
}
