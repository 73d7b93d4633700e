//! Property tests of the dependency graph (R5) against brute force on small random graphs.
//!
//! Node `i` is the application release `AR-{numbers[i]}`, numbers drawn at random so that id order and
//! dependency order have nothing to do with each other. Reachability is a Floyd–Warshall closure.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use proptest::prelude::*;
use railyard_domain::graph::{Conflict, Dated, DependencyGraph, conflicts, id_cmp};

#[derive(Debug, Clone)]
struct Case {
    ids: Vec<String>,
    /// `(dependent, dependency)` by node.
    edges: Vec<(usize, usize)>,
    /// Nodes given to the graph as entries of their own (a node without dependencies may be left out).
    listed: Vec<bool>,
    members: Vec<usize>,
}

impl Case {
    fn n(&self) -> usize {
        self.ids.len()
    }

    fn graph(&self) -> DependencyGraph {
        let entries = (0..self.n()).filter(|&i| self.listed[i] || self.edges.iter().any(|&(from, _)| from == i));
        DependencyGraph::new(entries.map(|i| {
            let deps = self.edges.iter().filter(|&&(from, _)| from == i).map(|&(_, to)| self.ids[to].clone());
            (self.ids[i].clone(), deps.collect())
        }))
    }

    fn member_ids(&self) -> Vec<String> {
        self.members.iter().map(|&i| self.ids[i].clone()).collect()
    }

    fn has_edge(&self, from: &str, to: &str) -> bool {
        self.edges.iter().any(|&(a, b)| self.ids[a] == from && self.ids[b] == to)
    }

    /// `dist[a][b]`: the fewest edges on a path from `a` to `b` (at least one), if any.
    fn distances(&self) -> Vec<Vec<Option<usize>>> {
        let n = self.n();
        let mut dist = vec![vec![None; n]; n];
        for &(a, b) in &self.edges {
            dist[a][b] = Some(1);
        }
        for k in 0..n {
            for a in 0..n {
                for b in 0..n {
                    if let (Some(x), Some(y)) = (dist[a][k], dist[k][b]) {
                        dist[a][b] = Some(dist[a][b].map_or(x + y, |d: usize| d.min(x + y)));
                    }
                }
            }
        }
        dist
    }
}

/// Up to 10 releases with distinct numbers from 1 to 40, random edges (`acyclic`: each from a later node to an
/// earlier one), random members.
fn case(acyclic: bool) -> impl Strategy<Value = Case> {
    (1usize..=10)
        .prop_flat_map(|n| {
            (
                prop::sample::subsequence((1u32..=40).collect::<Vec<_>>(), n).prop_shuffle(),
                prop::collection::vec((0..n, 0..n), 0..=3 * n),
                prop::collection::vec(any::<bool>(), n),
                prop::collection::vec(0..n, 0..=n + 2),
            )
        })
        .prop_map(move |(numbers, pairs, listed, members)| {
            let edges = pairs
                .into_iter()
                .filter(|&(a, b)| !acyclic || a != b)
                .map(|(a, b)| if acyclic { (a.max(b), a.min(b)) } else { (a, b) })
                .collect();
            Case { ids: numbers.iter().map(|k| format!("AR-{k}")).collect(), edges, listed, members }
        })
}

/// Asserts that each release on `path` depends on the next.
fn assert_edges(case: &Case, path: &[String]) {
    for pair in path.windows(2) {
        assert!(case.has_edge(&pair[0], &pair[1]), "{path:?}: {} does not depend on {}", pair[0], pair[1]);
    }
}

/// Asserts that `path` is a cycle of existing edges, closing on its first release.
fn assert_cycle(case: &Case, path: &[String]) {
    assert!(path.len() >= 2 && path.first() == path.last(), "{path:?} is not closed");
    assert_edges(case, path);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// On an acyclic graph, `order` gives every member once, after every member it reaches, directly or
    /// through others.
    #[test]
    fn order_is_a_permutation_that_respects_every_dependency(case in case(true)) {
        let order = case.graph().order(&case.member_ids()).expect("acyclic");
        let members: BTreeSet<String> = case.member_ids().into_iter().collect();
        prop_assert_eq!(order.len(), members.len());
        prop_assert_eq!(order.iter().cloned().collect::<BTreeSet<_>>(), members);
        let dist = case.distances();
        let place = |node: usize| order.iter().position(|id| *id == case.ids[node]);
        for &a in &case.members {
            for &b in &case.members {
                if dist[a][b].is_some() {
                    prop_assert!(place(b) < place(a), "{} depends on {} yet comes first: {:?}", case.ids[a], case.ids[b], order);
                }
            }
        }
    }

    /// `order` is the lowest-ready-first order of the members under "reaches", computed by brute force.
    #[test]
    fn order_takes_the_lowest_ready_member_first(case in case(true)) {
        let order = case.graph().order(&case.member_ids()).expect("acyclic");
        let dist = case.distances();
        let mut left: BTreeSet<usize> = case.members.iter().copied().collect();
        let mut expected = Vec::new();
        while !left.is_empty() {
            let ready = left.iter().copied().filter(|&a| !left.iter().any(|&b| dist[a][b].is_some()));
            let next = ready.min_by(|&a, &b| id_cmp(&case.ids[a], &case.ids[b])).expect("acyclic");
            left.remove(&next);
            expected.push(case.ids[next].clone());
        }
        prop_assert_eq!(order, expected);
    }

    /// `order` fails exactly when the members reach a cycle, and names a real one.
    #[test]
    fn order_fails_exactly_when_the_members_reach_a_cycle(case in case(false)) {
        let result = case.graph().order(&case.member_ids());
        let dist = case.distances();
        let on_cycle = |c: usize| dist[c][c].is_some();
        let reaches_cycle = case.members.iter().any(|&m| {
            (0..case.n()).any(|c| (c == m || dist[m][c].is_some()) && on_cycle(c))
        });
        prop_assert_eq!(result.is_err(), reaches_cycle, "{:?}", result);
        if let Err(cycle) = result {
            assert_cycle(&case, &cycle);
            let members = case.member_ids();
            if cycle.iter().any(|id| members.contains(id)) {
                prop_assert!(members.contains(&cycle[0]), "{:?} does not start at a member", cycle);
            }
        }
    }

    /// `cycle_if_added` finds a cycle iff the dependency already reaches the dependent (or is it), and gives
    /// the shortest: the new edge, then existing edges back to the dependent.
    #[test]
    fn cycle_if_added_agrees_with_reachability(case in case(false), pick in any::<(prop::sample::Index, prop::sample::Index)>()) {
        let (dependent, dependency) = (pick.0.index(case.n()), pick.1.index(case.n()));
        let graph = case.graph();
        let found = graph.cycle_if_added(&case.ids[dependent], &case.ids[dependency]);
        let dist = case.distances();
        let expected = if dependent == dependency { Some(0) } else { dist[dependency][dependent] };
        prop_assert_eq!(found.is_some(), expected.is_some(), "{:?}", found);
        if let (Some(path), Some(back)) = (found, expected) {
            prop_assert_eq!(&path[0], &case.ids[dependent]);
            prop_assert_eq!(&path[1], &case.ids[dependency]);
            prop_assert_eq!(path.last(), Some(&case.ids[dependent]));
            prop_assert_eq!(path.len(), back + 2, "not the shortest: {:?}", path);
            assert_edges(&case, &path[1..]);
        }
    }

    /// `conflicts` lists exactly the late dependencies touching a member, in id order.
    #[test]
    fn conflicts_agree_with_brute_force(case in case(false), days in prop::collection::vec((1u32..=28, 0u32..=28), 10), dated in prop::collection::vec(any::<bool>(), 10)) {
        let date = |day: u32| NaiveDate::from_ymd_opt(2031, 2, day).unwrap();
        let titles: Vec<String> = case.ids.iter().map(|id| format!("Release {id}")).collect();
        let releases: Vec<Dated<'_>> = (0..case.n())
            .filter(|&i| dated[i])
            .map(|i| Dated { id: &case.ids[i], title: &titles[i], start: date(days[i].0), end: date(days[i].0.max(days[i].1)) })
            .collect();
        let found = conflicts(&case.graph(), &releases, &case.member_ids());
        let mut expected: Vec<Conflict> = BTreeSet::from_iter(case.edges.iter().copied())
            .into_iter()
            .filter(|&(a, b)| dated[a] && dated[b] && (case.members.contains(&a) || case.members.contains(&b)))
            .filter(|&(a, b)| date(days[b].0.max(days[b].1)) > date(days[a].0))
            .map(|(a, b)| Conflict {
                dependent: case.ids[a].clone(),
                dependent_title: titles[a].clone(),
                dependent_start: date(days[a].0),
                dependency: case.ids[b].clone(),
                dependency_title: titles[b].clone(),
                dependency_end: date(days[b].0.max(days[b].1)),
            })
            .collect();
        expected.sort_by(|x, y| id_cmp(&x.dependent, &y.dependent).then_with(|| id_cmp(&x.dependency, &y.dependency)));
        prop_assert_eq!(found, expected);
    }
}
