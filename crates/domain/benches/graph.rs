//! A train of 5,000 application releases with 20,000 random acyclic dependencies (fixed seed): building the
//! graph, checking one new edge for a cycle, the train's schedule conflicts and its dependency order.
//! Budget (R5 checks on every change to a dependency): cycle check + conflicts under 50 ms together.
//!
//! Two shapes: `uniform`, each dependency between two releases drawn at random (a release then reaches a few
//! hundred others), and `local`, each on one of the 100 releases just before it in dependency order (a
//! release then reaches nearly all before it, the worst case for the cycle check, which walks them all).

use std::collections::HashSet;
use std::hint::black_box;

use chrono::{Duration, NaiveDate};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use railyard_domain::graph::{Dated, DependencyGraph, conflicts};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

const RELEASES: usize = 5_000;
const DEPENDENCIES: usize = 20_000;

struct Train {
    /// By position in a hidden dependency order: a release depends only on releases before it.
    ids: Vec<String>,
    titles: Vec<String>,
    dates: Vec<(NaiveDate, NaiveDate)>,
    entries: Vec<(String, Vec<String>)>,
}

fn train(local: bool) -> Train {
    let mut rng = StdRng::seed_from_u64(0x5241_494c);
    // Ids shuffled, so that id order tells nothing of the dependency order.
    let mut numbers: Vec<usize> = (1..=RELEASES).collect();
    numbers.shuffle(&mut rng);
    let ids: Vec<String> = numbers.iter().map(|k| format!("AR-{k}")).collect();
    let titles = ids.iter().map(|id| format!("Application release {id}")).collect();
    let base = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let dates = (0..RELEASES)
        .map(|i| {
            let start = base + Duration::days(i as i64 / 50 + rng.random_range(0..20));
            (start, start + Duration::days(rng.random_range(5..40)))
        })
        .collect();
    let mut edges = HashSet::new();
    while edges.len() < DEPENDENCIES {
        if local {
            let a = rng.random_range(1..RELEASES);
            edges.insert((a, a - rng.random_range(1..=100.min(a))));
        } else {
            let (a, b) = (rng.random_range(0..RELEASES), rng.random_range(0..RELEASES));
            if a != b {
                edges.insert((a.max(b), a.min(b)));
            }
        }
    }
    let mut depends_on = vec![Vec::new(); RELEASES];
    for (dependent, dependency) in edges {
        depends_on[dependent].push(ids[dependency].clone());
    }
    let entries = ids.iter().cloned().zip(depends_on).collect();
    Train { ids, titles, dates, entries }
}

fn bench(c: &mut Criterion) {
    for (shape, local) in [("uniform", false), ("local", true)] {
        bench_shape(c, shape, &train(local));
    }
}

fn bench_shape(c: &mut Criterion, shape: &str, train: &Train) {
    let graph = DependencyGraph::new(train.entries.clone());
    let members = train.ids.clone();
    let dated: Vec<Dated<'_>> = (0..RELEASES)
        .map(|i| Dated { id: &train.ids[i], title: &train.titles[i], start: train.dates[i].0, end: train.dates[i].1 })
        .collect();
    // The last release in dependency order: nothing depends on it, so checking an edge into it walks
    // everything the other release reaches and finds no cycle (the worst case).
    let (last, next_to_last) = (&train.ids[RELEASES - 1], &train.ids[RELEASES - 2]);
    assert_eq!(graph.cycle_if_added(last, next_to_last), None);
    // The earliest release in dependency order that the last one reaches: a long way round.
    let (first, cycle) = train
        .ids
        .iter()
        .find_map(|id| graph.cycle_if_added(id, last).map(|cycle| (id, cycle)))
        .expect("the last release depends on something");
    let found = conflicts(&graph, &dated, &members);
    assert_eq!(graph.order(&members).map(|order| order.len()), Ok(RELEASES));
    eprintln!(
        "{shape}: {RELEASES} releases, {DEPENDENCIES} dependencies: {} conflicts; {first} depending on {last} closes a \
         cycle of {} releases",
        found.len(),
        cycle.len() - 1
    );

    let mut group = c.benchmark_group(format!("graph/{shape}"));
    group.bench_function("build", |b| {
        b.iter_batched(|| train.entries.clone(), DependencyGraph::new, BatchSize::LargeInput)
    });
    group.bench_function("cycle_if_added/none", |b| b.iter(|| graph.cycle_if_added(black_box(last), next_to_last)));
    group.bench_function("cycle_if_added/found", |b| b.iter(|| graph.cycle_if_added(black_box(first), last)));
    group.bench_function("conflicts", |b| b.iter(|| conflicts(&graph, black_box(&dated), &members)));
    group.bench_function("cycle_if_added+conflicts", |b| {
        b.iter(|| (graph.cycle_if_added(black_box(last), next_to_last), conflicts(&graph, black_box(&dated), &members)))
    });
    group.bench_function("order", |b| b.iter(|| graph.order(black_box(&members))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
