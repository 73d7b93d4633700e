//! Dependencies between application releases (R5): cycle detection, dependency order and schedule conflicts.
//!
//! A [`DependencyGraph`] holds every "depends on" edge between application releases, across trains. Ids are
//! interned to dense integers and the edges kept in compressed rows, both ways, so that a check for one new
//! edge, the order of a train and its conflicts each cost one pass over the part of the graph they touch.
//!
//! Ids are ordered by their number (`AR-9` before `AR-10`), see [`id_cmp`]; every result here is deterministic.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const NONE: u32 = u32::MAX;

/// The number an id ends with (`AR-12` → 12), or `u64::MAX` for an id that ends with none.
fn id_number(id: &str) -> u64 {
    let digits = id.len() - id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    id[id.len() - digits..].parse().unwrap_or(u64::MAX)
}

/// Orders ids by their number, then as strings (so `AR-9` < `AR-10`, and the order is total).
pub fn id_cmp(a: &str, b: &str) -> Ordering {
    id_number(a).cmp(&id_number(b)).then_with(|| a.cmp(b))
}

/// Rows of a compressed adjacency: the neighbours of node `i` are `targets[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Default)]
struct Rows {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl Rows {
    /// `edges` must be sorted by source, then by the order the neighbours are to be visited in.
    fn new(nodes: usize, edges: &[(u32, u32)]) -> Rows {
        let mut offsets = vec![0u32; nodes + 1];
        for &(from, _) in edges {
            offsets[from as usize + 1] += 1;
        }
        for i in 0..nodes {
            offsets[i + 1] += offsets[i];
        }
        Rows { offsets, targets: edges.iter().map(|&(_, to)| to).collect() }
    }

    fn of(&self, node: u32) -> &[u32] {
        &self.targets[self.offsets[node as usize] as usize..self.offsets[node as usize + 1] as usize]
    }
}

/// Which application releases depend on which (R5), across trains.
#[derive(Debug, Clone, Default)]
pub struct DependencyGraph {
    ids: Vec<String>,
    index: HashMap<String, u32>,
    /// Each node's number, by node (see [`id_number`]).
    numbers: Vec<u64>,
    /// Each node's place in id order.
    rank: Vec<u32>,
    /// Nodes in id order.
    by_rank: Vec<u32>,
    /// What each node depends on, in id order, without repeats.
    dependencies: Rows,
    /// What depends on each node, in id order, without repeats.
    dependents: Rows,
}

impl DependencyGraph {
    /// Builds the graph from `(release id, ids it depends on)`. A release may be listed more than once (its
    /// dependencies are merged); an id that is only depended on is a release without dependencies.
    pub fn new(releases: impl IntoIterator<Item = (String, Vec<String>)>) -> DependencyGraph {
        let mut graph = DependencyGraph::default();
        let mut edges = Vec::new();
        for (id, depends_on) in releases {
            let from = graph.intern(id);
            for dependency in depends_on {
                edges.push((from, graph.intern(dependency)));
            }
        }
        let n = graph.ids.len();
        graph.numbers = graph.ids.iter().map(|id| id_number(id)).collect();
        let mut by_rank: Vec<u32> = (0..n as u32).collect();
        by_rank.sort_unstable_by(|&a, &b| graph.cmp_nodes(a, b));
        graph.by_rank = by_rank;
        graph.rank = vec![0; n];
        for (rank, &node) in graph.by_rank.iter().enumerate() {
            graph.rank[node as usize] = rank as u32;
        }
        let rank = &graph.rank;
        edges.sort_unstable_by_key(|&(from, to)| (from, rank[to as usize]));
        edges.dedup();
        graph.dependencies = Rows::new(n, &edges);
        let mut reversed: Vec<(u32, u32)> = edges.iter().map(|&(from, to)| (to, from)).collect();
        reversed.sort_unstable_by_key(|&(to, from)| (to, rank[from as usize]));
        graph.dependents = Rows::new(n, &reversed);
        graph
    }

    fn intern(&mut self, id: String) -> u32 {
        if let Some(&node) = self.index.get(&id) {
            return node;
        }
        let node = u32::try_from(self.ids.len()).ok().filter(|&node| node != NONE).expect("too many releases");
        self.index.insert(id.clone(), node);
        self.ids.push(id);
        node
    }

    fn cmp_nodes(&self, a: u32, b: u32) -> Ordering {
        let (a, b) = (a as usize, b as usize);
        self.numbers[a].cmp(&self.numbers[b]).then_with(|| self.ids[a].cmp(&self.ids[b]))
    }

    /// How many releases the graph knows, listed or only depended on.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }

    /// What `id` depends on directly, in id order (none for an unknown id).
    pub fn dependencies(&self, id: &str) -> impl Iterator<Item = &str> + '_ {
        let row = self.index.get(id).map_or(&[][..], |&node| self.dependencies.of(node));
        row.iter().map(|&node| self.ids[node as usize].as_str())
    }

    fn names(&self, nodes: impl IntoIterator<Item = u32>) -> Vec<String> {
        nodes.into_iter().map(|node| self.ids[node as usize].clone()).collect()
    }

    /// The cycle that "`dependent` depends on `dependency`" would close, if any: a path that starts and ends
    /// with `dependent`, each release depending on the next (`["AR-1", "AR-2", "AR-3", "AR-1"]`), the
    /// shortest there is. A release depending on itself is the cycle `[id, id]`.
    pub fn cycle_if_added(&self, dependent: &str, dependency: &str) -> Option<Vec<String>> {
        if dependent == dependency {
            return Some(vec![dependent.to_owned(), dependent.to_owned()]);
        }
        let (&target, &source) = (self.index.get(dependent)?, self.index.get(dependency)?);
        // Breadth first from `dependency` along "depends on" edges, looking for `dependent`.
        let mut parent = vec![NONE; self.ids.len()];
        parent[source as usize] = source;
        let mut queue = VecDeque::from([source]);
        while let Some(node) = queue.pop_front() {
            for &next in self.dependencies.of(node) {
                if parent[next as usize] != NONE {
                    continue;
                }
                parent[next as usize] = node;
                if next == target {
                    let mut path = vec![target];
                    let mut at = target;
                    while at != source {
                        at = parent[at as usize];
                        path.push(at);
                    }
                    path.push(target);
                    path.reverse();
                    return Some(self.names(path));
                }
                queue.push_back(next);
            }
        }
        None
    }

    /// `members` in an order where every release comes after those it depends on, directly or through
    /// releases outside `members` (A → X → B, X outside, puts B before A). Among the releases ready at each
    /// step, the lowest id comes first. Repeated members appear once; unknown ones have no dependencies.
    ///
    /// `Err` holds a cycle (as in [`Self::cycle_if_added`], starting at a member when one is on it) when
    /// the members' dependencies, direct or indirect, reach one, since no order is then possible.
    pub fn order<'a>(&'a self, members: &'a [String]) -> Result<Vec<String>, Vec<String>> {
        let n = self.ids.len();
        let mut is_member = vec![false; n];
        let mut unknown = HashSet::new();
        let mut ready = BinaryHeap::new();
        let mut stack = Vec::new();
        for member in members {
            match self.index.get(member.as_str()) {
                Some(&node) if !is_member[node as usize] => {
                    is_member[node as usize] = true;
                    stack.push(node);
                }
                Some(_) => {}
                None if unknown.insert(member.as_str()) => {
                    ready.push(Reverse((id_number(member), member.as_str(), NONE)))
                }
                None => {}
            }
        }
        let wanted = stack.len() + unknown.len();
        // The releases the members reach: only those can stand between two members.
        let mut reached = vec![false; n];
        for &node in &stack {
            reached[node as usize] = true;
        }
        while let Some(node) = stack.pop() {
            for &next in self.dependencies.of(node) {
                if !std::mem::replace(&mut reached[next as usize], true) {
                    stack.push(next);
                }
            }
        }
        // Kahn's algorithm over the reached releases; those outside `members` go as soon as they are ready,
        // so a member is ready exactly when the members it depends on, directly or through them, have gone.
        let mut waiting: Vec<u32> = (0..n as u32).map(|node| self.dependencies.of(node).len() as u32).collect();
        let push = |node: u32, ready: &mut BinaryHeap<Reverse<(u64, &'a str, u32)>>, stack: &mut Vec<u32>| {
            if is_member[node as usize] {
                ready.push(Reverse((self.numbers[node as usize], self.ids[node as usize].as_str(), node)));
            } else {
                stack.push(node);
            }
        };
        for &node in &self.by_rank {
            if reached[node as usize] && waiting[node as usize] == 0 {
                push(node, &mut ready, &mut stack);
            }
        }
        let mut order = Vec::with_capacity(wanted);
        loop {
            let node = match stack.pop() {
                Some(node) => node,
                None => match ready.pop() {
                    Some(Reverse((_, id, node))) => {
                        order.push(id.to_owned());
                        node
                    }
                    None => break,
                },
            };
            if node == NONE {
                continue;
            }
            for &next in self.dependents.of(node) {
                if reached[next as usize] {
                    waiting[next as usize] -= 1;
                    if waiting[next as usize] == 0 {
                        push(next, &mut ready, &mut stack);
                    }
                }
            }
        }
        if order.len() == wanted {
            return Ok(order);
        }
        // Some member waits forever: follow releases still waiting until one repeats.
        let start = self.by_rank.iter().copied().find(|&node| is_member[node as usize] && waiting[node as usize] > 0);
        let mut at = start.expect("a member is left waiting");
        let mut seen = vec![NONE; n];
        let mut path = Vec::new();
        while seen[at as usize] == NONE {
            seen[at as usize] = path.len() as u32;
            path.push(at);
            at = self.dependencies.of(at).iter().copied().find(|&next| waiting[next as usize] > 0).expect("waits");
        }
        let cycle = &path[seen[at as usize] as usize..];
        let first = (0..cycle.len())
            .min_by(|&a, &b| {
                let (a, b) = (cycle[a], cycle[b]);
                is_member[b as usize].cmp(&is_member[a as usize]).then_with(|| self.cmp_nodes(a, b))
            })
            .unwrap_or(0);
        Err(self.names(cycle[first..].iter().chain(&cycle[..=first]).copied()))
    }
}

impl FromIterator<(String, Vec<String>)> for DependencyGraph {
    fn from_iter<I: IntoIterator<Item = (String, Vec<String>)>>(releases: I) -> Self {
        DependencyGraph::new(releases)
    }
}

/// An application release with its planned dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dated<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// A dependency planned to end after its dependent starts (R5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conflict {
    pub dependent: String,
    pub dependent_title: String,
    pub dependent_start: NaiveDate,
    pub dependency: String,
    pub dependency_title: String,
    pub dependency_end: NaiveDate,
}

/// Every dependency in `graph` whose end falls after its dependent's start, among the edges with at least one
/// end in `members`, sorted by dependent id, then dependency id. Edges to or from a release missing from
/// `releases` are skipped (its dates are unknown); if a release is listed twice, the last entry counts.
pub fn conflicts(graph: &DependencyGraph, releases: &[Dated<'_>], members: &[String]) -> Vec<Conflict> {
    let mut dated: Vec<Option<&Dated<'_>>> = vec![None; graph.len()];
    for release in releases {
        if let Some(&node) = graph.index.get(release.id) {
            dated[node as usize] = Some(release);
        }
    }
    let mut is_member = vec![false; graph.len()];
    for member in members {
        if let Some(&node) = graph.index.get(member.as_str()) {
            is_member[node as usize] = true;
        }
    }
    let mut found = Vec::new();
    for &node in &graph.by_rank {
        let Some(dependent) = dated[node as usize] else { continue };
        for &next in graph.dependencies.of(node) {
            if !is_member[node as usize] && !is_member[next as usize] {
                continue;
            }
            let Some(dependency) = dated[next as usize] else { continue };
            if dependency.end > dependent.start {
                found.push(Conflict {
                    dependent: dependent.id.to_owned(),
                    dependent_title: dependent.title.to_owned(),
                    dependent_start: dependent.start,
                    dependency: dependency.id.to_owned(),
                    dependency_title: dependency.title.to_owned(),
                    dependency_end: dependency.end,
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> DependencyGraph {
        edges.iter().map(|(id, deps)| (id.to_string(), deps.iter().map(|d| d.to_string()).collect())).collect()
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    fn date(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2030, 1, day).unwrap()
    }

    #[test]
    fn ids_are_ordered_by_number() {
        let mut list = ids(&["AR-10", "AR-9", "AR-100", "AR-1", "X", "BR-9"]);
        list.sort_by(|a, b| id_cmp(a, b));
        assert_eq!(list, ids(&["AR-1", "AR-9", "BR-9", "AR-10", "AR-100", "X"]));
    }

    #[test]
    fn cycle_if_added_names_the_whole_cycle() {
        let g = graph(&[("AR-2", &["AR-3"]), ("AR-3", &["AR-1"])]);
        assert_eq!(g.cycle_if_added("AR-1", "AR-2"), Some(ids(&["AR-1", "AR-2", "AR-3", "AR-1"])));
        assert_eq!(g.cycle_if_added("AR-2", "AR-1"), None);
        assert_eq!(g.cycle_if_added("AR-7", "AR-2"), None);
        assert_eq!(g.cycle_if_added("AR-1", "AR-8"), None);
    }

    #[test]
    fn a_self_dependency_is_a_cycle() {
        let g = graph(&[]);
        assert_eq!(g.cycle_if_added("AR-1", "AR-1"), Some(ids(&["AR-1", "AR-1"])));
    }

    #[test]
    fn cycle_if_added_prefers_the_shortest_cycle() {
        let g = graph(&[("AR-2", &["AR-3", "AR-4"]), ("AR-3", &["AR-5"]), ("AR-5", &["AR-1"]), ("AR-4", &["AR-1"])]);
        assert_eq!(g.cycle_if_added("AR-1", "AR-2"), Some(ids(&["AR-1", "AR-2", "AR-4", "AR-1"])));
    }

    #[test]
    fn order_puts_dependencies_first_and_lowest_ids_first() {
        let g = graph(&[("AR-1", &["AR-10"]), ("AR-2", &[]), ("AR-10", &["AR-9"]), ("AR-9", &[])]);
        let members = ids(&["AR-10", "AR-9", "AR-2", "AR-1"]);
        assert_eq!(g.order(&members), Ok(ids(&["AR-2", "AR-9", "AR-10", "AR-1"])));
    }

    #[test]
    fn order_follows_dependencies_through_releases_outside_the_members() {
        // AR-1 depends on AR-50 (another train), which depends on AR-3.
        let g = graph(&[("AR-1", &["AR-50"]), ("AR-50", &["AR-3"]), ("AR-2", &[])]);
        assert_eq!(g.order(&ids(&["AR-3", "AR-2", "AR-1"])), Ok(ids(&["AR-2", "AR-3", "AR-1"])));
    }

    #[test]
    fn order_keeps_unknown_and_repeated_members_once() {
        let g = graph(&[("AR-5", &["AR-4"])]);
        assert_eq!(
            g.order(&ids(&["AR-5", "AR-7", "AR-4", "AR-5", "AR-1"])),
            Ok(ids(&["AR-1", "AR-4", "AR-5", "AR-7"]))
        );
        assert_eq!(g.order(&[]), Ok(vec![]));
    }

    #[test]
    fn order_reports_a_cycle_starting_at_a_member() {
        let g = graph(&[("AR-4", &["AR-1"]), ("AR-1", &["AR-60"]), ("AR-60", &["AR-3"]), ("AR-3", &["AR-1"])]);
        assert_eq!(g.order(&ids(&["AR-4", "AR-3"])), Err(ids(&["AR-3", "AR-1", "AR-60", "AR-3"])));
        let g = graph(&[("AR-2", &["AR-2"])]);
        assert_eq!(g.order(&ids(&["AR-2"])), Err(ids(&["AR-2", "AR-2"])));
    }

    #[test]
    fn conflicts_are_late_dependencies_touching_the_members() {
        let g = graph(&[("AR-10", &["AR-2", "AR-3", "AR-4"]), ("AR-5", &["AR-6"]), ("AR-7", &["AR-10"])]);
        let dated = [
            Dated { id: "AR-10", title: "Ten", start: date(10), end: date(20) },
            Dated { id: "AR-2", title: "Two", start: date(1), end: date(11) },
            Dated { id: "AR-3", title: "Three", start: date(1), end: date(10) },
            Dated { id: "AR-5", title: "Five", start: date(1), end: date(2) },
            Dated { id: "AR-6", title: "Six", start: date(1), end: date(9) },
            Dated { id: "AR-7", title: "Seven", start: date(15), end: date(25) },
        ];
        let found = conflicts(&g, &dated, &ids(&["AR-10"]));
        let pairs: Vec<_> = found.iter().map(|c| (c.dependent.as_str(), c.dependency.as_str())).collect();
        // AR-3 ends on AR-10's start (no conflict), AR-4 has no dates, AR-5 → AR-6 touches no member.
        assert_eq!(pairs, [("AR-7", "AR-10"), ("AR-10", "AR-2")]);
        assert_eq!(
            found[1],
            Conflict {
                dependent: "AR-10".into(),
                dependent_title: "Ten".into(),
                dependent_start: date(10),
                dependency: "AR-2".into(),
                dependency_title: "Two".into(),
                dependency_end: date(11),
            }
        );
        let all = conflicts(&g, &dated, &ids(&["AR-5", "AR-10"]));
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].dependent, "AR-5");
    }
}
