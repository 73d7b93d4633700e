//! The console scenario: the demo company plus 200 trains and 5,000 application releases, then the web
//! console as a signed-in release manager sees it.
//!
//! - Render time: `GET /` (the dashboard) and `GET /trains/{id}` (the largest trains and the demo's), each
//!   timed from request to last byte through a real HTTP client on 127.0.0.1, so the figure includes the
//!   server-side render and the local network, nothing else. Budget (issue 7): p95 under 50 ms.
//! - Weight: every page reachable by following links from the dashboard (breadth first, each address
//!   once, up to `--max-pages`), its size before compression. Budget: none over 300 KB.
//!
//! The extra trains and releases go in through the public API, as a release manager would create them:
//! 150 trains are submitted and approved (scoping), 50 stay in draft; the scoping ones get the releases,
//! spread evenly, each accepted on its train at once (created by the train's manager).

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

use anyhow::Context;
use serde_json::json;
use tokio::task::JoinSet;

use crate::server::{self, Api, percentile, quantiles};

#[derive(clap::Args, Clone, Copy)]
pub struct Args {
    #[arg(long, default_value_t = 200)]
    pub trains: usize,
    #[arg(long, default_value_t = 5_000)]
    pub releases: usize,
    /// Timed requests of each page.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// At most this many pages are crawled for their weight.
    #[arg(long, default_value_t = 20_000)]
    pub max_pages: usize,
}

const PASSWORD: &str = "bench-password-for-rita";
const APPS: &[&str] = &["PAY", "CART", "CHECKOUT", "AUTH", "WEB", "MOBILE", "CATALOG", "SEARCH", "ORDERS", "STOCK"];

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let t0 = Instant::now();
    let (srv, people) = server::start_demo(&dir.path().join("railyard.db"), 2)?;
    println!("demo company loaded in {:.1}s", t0.elapsed().as_secs_f64());
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    client.block_on(async {
        let token = |who: &str| -> anyhow::Result<String> {
            let p = people.iter().find(|p| p.name == who).with_context(|| format!("no demo user {who}"))?;
            Ok(p.token.clone())
        };
        let http = reqwest::Client::new();
        let rita = Api { http: http.clone(), base: srv.base.clone(), token: token("rita")? };
        let max = Api { http: http.clone(), base: srv.base.clone(), token: token("max")? };

        let t0 = Instant::now();
        let trains = seed(&rita, &max, args).await?;
        println!(
            "seeded {} trains and {} application releases through the API in {:.1}s",
            args.trains,
            args.releases,
            t0.elapsed().as_secs_f64()
        );

        if let Some(first) = trains.first() {
            let r = rita.get(&format!("/api/v1/application-releases?train={first}&limit=200")).await?;
            let n = r["items"].as_array().map(Vec::len).unwrap_or(0);
            println!("  {first} carries {n} application releases");
        }
        let root = Api { http: http.clone(), base: srv.base.clone(), token: srv.admin.clone() };
        root.post("/api/v1/users/rita/password", json!({"password": PASSWORD})).await?;
        let browser = sign_in(&srv.base).await?;

        // The five largest bench trains and every demo train, in turn.
        let mut train_pages: Vec<String> = trains.iter().take(5).map(|t| format!("/trains/{t}")).collect();
        let mut cursor: Option<String> = None;
        loop {
            let page = match &cursor {
                Some(c) => rita.get(&format!("/api/v1/trains?limit=200&cursor={c}")).await?,
                None => rita.get("/api/v1/trains?limit=200").await?,
            };
            for t in page["items"].as_array().into_iter().flatten() {
                let bench = t["title"].as_str().is_some_and(|t| t.starts_with("Bench train"));
                if let (false, Some(id)) = (bench, t["id"].as_str()) {
                    train_pages.push(format!("/trains/{id}"));
                }
            }
            cursor = page["next_cursor"].as_str().map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        println!();
        report("GET / (dashboard)", &time_pages(&browser, &srv.base, &["/".to_string()], args.samples).await?);
        report("GET /trains/{id}", &time_pages(&browser, &srv.base, &train_pages, args.samples).await?);

        let t0 = Instant::now();
        let (weights, exhausted) = crawl(&browser, &srv.base, args.max_pages).await?;
        let heaviest = weights.iter().max_by_key(|w| w.1).cloned().unwrap_or_default();
        let slowest = weights.iter().max_by(|a, b| a.2.total_cmp(&b.2)).cloned().unwrap_or_default();
        println!(
            "\ncrawled {} pages from the dashboard in {:.1}s ({})",
            weights.len(),
            t0.elapsed().as_secs_f64(),
            if exhausted { "every page a link leads to" } else { "stopped at --max-pages" }
        );
        let mut kinds: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
        for (path, bytes, _) in &weights {
            let kind = path.split(['/', '?']).nth(1).unwrap_or_default();
            let entry = kinds.entry(format!("/{kind}")).or_default();
            entry.0 += 1;
            entry.1 = entry.1.max(*bytes);
        }
        for (kind, (count, max)) in kinds {
            println!("  {kind}: {count} pages, the heaviest {:.1} KB", max as f64 / 1024.0);
        }
        println!("  heaviest: {} at {:.1} KB", heaviest.0, heaviest.1 as f64 / 1024.0);
        println!("  slowest: {} in {:.1} ms", slowest.0, slowest.2);
        println!(
            "  budget (issue 7): no page over 300 KB {}",
            if heaviest.1 <= 300 * 1024 { "(met)" } else { "(NOT met)" }
        );
        anyhow::Ok(())
    })
}

/// Creates the trains (three in four taken to scoping by max's approval) and spreads the releases over
/// the scoping ones; returns the train ids, those with releases first.
async fn seed(rita: &Api, max: &Api, args: Args) -> anyhow::Result<Vec<String>> {
    let scoping = args.trains * 3 / 4;
    let mut jobs = JoinSet::new();
    let mut ids = Vec::new();
    for i in 0..args.trains {
        let (rita, max) = (rita.clone(), max.clone());
        jobs.spawn(async move { train(&rita, &max, i, i < scoping).await });
        if jobs.len() >= 8 {
            ids.push(jobs.join_next().await.context("a train job")???);
        }
    }
    while let Some(r) = jobs.join_next().await {
        ids.push(r??);
    }
    ids.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let with_releases: Vec<String> = ids.iter().filter(|t| t.1).map(|t| t.0.clone()).collect();
    anyhow::ensure!(!with_releases.is_empty() || args.releases == 0, "no train in scoping to take the releases");
    for n in 0..args.releases {
        let Some(train) = with_releases.get(n % with_releases.len().max(1)).cloned() else { break };
        let rita = rita.clone();
        jobs.spawn(async move {
            let app = APPS[n % APPS.len()];
            let owner = if n % 2 == 0 { "paula" } else { "pete" };
            let body = json!({"title": format!("{app} change {n}"), "application": app, "train": train,
                "product_owner": owner, "schedule": {"start": "2031-01-20", "end": "2031-02-20"}});
            rita.post("/api/v1/application-releases", body).await.map(|_| (String::new(), false))
        });
        if jobs.len() >= 8 {
            jobs.join_next().await.context("a release job")???;
        }
    }
    while let Some(r) = jobs.join_next().await {
        r??;
    }
    Ok(ids.into_iter().map(|t| t.0).collect())
}

/// One bench train, dated in 2031; `to_scoping`: submitted and approved.
async fn train(rita: &Api, max: &Api, i: usize, to_scoping: bool) -> anyhow::Result<(String, bool)> {
    let one = |who: &str| json!({"levels": [{"approvers": [who], "required": 1}]});
    let body = json!({"title": format!("Bench train {i}"), "release_type": "minor", "manager": "rita",
        "schedule": {"start": "2031-01-06", "scoping_end": "2031-01-17", "construction_end": "2031-02-28",
            "verification_end": "2031-03-14", "production_date": "2031-03-21"},
        "approval_policies": {"train": one("max"), "development": one("dora"), "executive": one("carla")}});
    let t = rita.post("/api/v1/trains", body).await?;
    let id = t["id"].as_str().context("a train id")?.to_string();
    if to_scoping {
        let t = rita.post(&format!("/api/v1/trains/{id}/submit"), json!({})).await?;
        let ap = t["train_approval"]["id"].as_str().context("the train approval")?;
        max.post(&format!("/api/v1/approvals/{ap}/approve"), json!({})).await?;
    }
    Ok((id, to_scoping))
}

/// A browser signed in as rita: a client that keeps the session cookie.
async fn sign_in(base: &str) -> anyhow::Result<reqwest::Client> {
    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let form = http.get(format!("{base}/sign-in")).send().await?.text().await?;
    let csrf = csrf(&form).context("no CSRF field on the sign-in page")?;
    let res = http
        .post(format!("{base}/sign-in"))
        .form(&[("csrf", csrf.as_str()), ("name", "rita"), ("password", PASSWORD)])
        .send()
        .await?;
    anyhow::ensure!(res.status().is_redirection(), "signing in answered {}", res.status());
    Ok(http)
}

fn csrf(page: &str) -> Option<String> {
    let marker = r#"name="csrf" value=""#;
    let start = page.find(marker)? + marker.len();
    page[start..].split('"').next().map(str::to_string)
}

/// Each page fetched `samples` times in turn; the latencies in milliseconds.
async fn time_pages(
    browser: &reqwest::Client,
    base: &str,
    pages: &[String],
    samples: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut ms = Vec::new();
    for i in 0..samples {
        let page = &pages[i % pages.len()];
        let t = Instant::now();
        let res = browser.get(format!("{base}{page}")).send().await?;
        let status = res.status();
        let body = res.bytes().await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(status.is_success(), "GET {page}: {status}");
        anyhow::ensure!(!body.is_empty(), "GET {page}: an empty page");
    }
    Ok(ms)
}

fn report(what: &str, ms: &[f64]) {
    let mut sorted = ms.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let p95 = percentile(&sorted, 0.95);
    let (p50, p99, max) = quantiles(ms.to_vec());
    println!(
        "{what}: {} requests, p50 {p50:.1} ms, p95 {p95:.1} ms, p99 {p99:.1} ms, max {max:.1} ms; budget p95 < 50 ms {}",
        ms.len(),
        if p95 < 50.0 { "(met)" } else { "(NOT met)" }
    );
}

/// Follows the console's links breadth first from the dashboard; (address, bytes, ms) of each page.
/// Whether it ran out of links (rather than reaching `max_pages`) comes second.
async fn crawl(
    browser: &reqwest::Client,
    base: &str,
    max_pages: usize,
) -> anyhow::Result<(Vec<(String, usize, f64)>, bool)> {
    let mut seen = BTreeSet::from(["/".to_string()]);
    let mut queue = VecDeque::from(["/".to_string()]);
    let mut pages = Vec::new();
    let mut families: std::collections::HashMap<String, usize> = Default::default();
    while let Some(path) = queue.pop_front() {
        if pages.len() >= max_pages {
            return Ok((pages, false));
        }
        let t = Instant::now();
        let res = browser.get(format!("{base}{path}")).send().await?;
        let status = res.status();
        let is_html =
            res.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
        let body = res.text().await?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(!status.is_server_error(), "GET {path}: {status}");
        if !status.is_success() {
            println!("  a link to {path} answered {status}");
            continue;
        }
        pages.push((path, body.len(), ms));
        if !is_html {
            continue;
        }
        for link in links(&body) {
            // Paged and dated views (`?cursor=`, `?from=`) go on for ever: 100 of each family are enough.
            let family = family(&link);
            let taken = families.entry(family).or_insert(0usize);
            if *taken < 100 && seen.insert(link.clone()) {
                if link.contains('?') {
                    *taken += 1;
                }
                queue.push_back(link);
            }
        }
    }
    Ok((pages, true))
}

/// An address without its query's values: `/audit?cursor=150&actor=rita` is `/audit?actor&cursor`.
fn family(link: &str) -> String {
    match link.split_once('?') {
        None => link.to_string(),
        Some((path, query)) => {
            let mut names: Vec<&str> = query.split('&').map(|p| p.split('=').next().unwrap_or_default()).collect();
            names.sort_unstable();
            format!("{path}?{}", names.join("&"))
        }
    }
}

/// The console's own addresses linked from a page (`href="/…"`, without fragments).
fn links(page: &str) -> Vec<String> {
    page.split(r#"href="/"#)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|p| format!("/{}", p.split('#').next().unwrap_or_default().replace("&amp;", "&")))
        .filter(|p| !p.starts_with("//") && !p.starts_with("/api/"))
        .collect()
}
