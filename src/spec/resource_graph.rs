//! `ResourceGraph`: the desired resources and the dependency edges derived from their
//! references; only a checked graph (no dangling reference, no cycle) can be planned.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

use super::resource_id::ResourceId;
use super::resource_spec::ResourceSpec;

/// A problem that makes a graph unplannable. All are reported at once.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("`{0}` is declared twice; every logical id must be unique in the stack")]
    Duplicate(ResourceId),
    #[error(
        "`{from}` references `{to}`, which is not in the stack; add it or remove the reference"
    )]
    Dangling { from: ResourceId, to: ResourceId },
    #[error("dependency cycle: {}; break it by removing one of these references", fmt_cycle(.0))]
    Cycle(Vec<ResourceId>),
}

fn fmt_cycle(ids: &[ResourceId]) -> String {
    ids.iter()
        .map(|id| format!("`{id}`"))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Desired resources as built from config, not yet checked.
#[derive(Clone, Debug, Default)]
pub struct ResourceGraph {
    specs: Vec<ResourceSpec>,
}

impl ResourceGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a spec and returns its id, so later specs can reference it.
    pub fn add(&mut self, spec: ResourceSpec) -> ResourceId {
        let id = spec.id.clone();
        self.specs.push(spec);
        id
    }

    /// The specs, in the order they were added.
    pub fn specs(&self) -> &[ResourceSpec] {
        &self.specs
    }

    /// Keeps only the specs `keep` accepts (for example the services a cloud can serve);
    /// `check` then reports any reference to a spec that was dropped.
    pub fn retain(&mut self, keep: impl FnMut(&ResourceSpec) -> bool) {
        self.specs.retain(keep);
    }

    /// Checks ids, references and acyclicity; returns every problem found.
    pub fn check(self) -> Result<CheckedGraph, Vec<GraphError>> {
        let mut errors = Vec::new();
        let mut nodes = BTreeMap::new();
        for spec in self.specs {
            let id = spec.id.clone();
            if nodes.insert(id.clone(), spec).is_some() {
                errors.push(GraphError::Duplicate(id));
            }
        }
        let mut deps: BTreeMap<ResourceId, Vec<ResourceId>> = BTreeMap::new();
        for (id, spec) in &nodes {
            let mut node_deps = Vec::new();
            for dep in spec.dependencies() {
                if nodes.contains_key(&dep) {
                    node_deps.push(dep);
                } else {
                    errors.push(GraphError::Dangling {
                        from: id.clone(),
                        to: dep,
                    });
                }
            }
            deps.insert(id.clone(), node_deps);
        }
        let order = match topological_order(&deps) {
            Ok(order) => order,
            Err(cycle) => {
                errors.push(GraphError::Cycle(cycle));
                Vec::new()
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut dependents: BTreeMap<ResourceId, Vec<ResourceId>> =
            nodes.keys().map(|id| (id.clone(), Vec::new())).collect();
        for (id, node_deps) in &deps {
            for dep in node_deps {
                dependents.entry(dep.clone()).or_default().push(id.clone());
            }
        }
        Ok(CheckedGraph {
            nodes,
            deps,
            dependents,
            order,
        })
    }
}

/// Kahn's algorithm; on a cycle returns one cycle's members in order.
fn topological_order(
    deps: &BTreeMap<ResourceId, Vec<ResourceId>>,
) -> Result<Vec<ResourceId>, Vec<ResourceId>> {
    let mut indegree: BTreeMap<&ResourceId, usize> =
        deps.iter().map(|(id, d)| (id, d.len())).collect();
    let mut dependents: BTreeMap<&ResourceId, Vec<&ResourceId>> = BTreeMap::new();
    for (id, node_deps) in deps {
        for dep in node_deps {
            dependents.entry(dep).or_default().push(id);
        }
    }
    let mut ready: VecDeque<&ResourceId> = indegree
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(id, _)| *id)
        .collect();
    let mut order = Vec::with_capacity(deps.len());
    while let Some(id) = ready.pop_front() {
        order.push(id.clone());
        for dependent in dependents.get(id).into_iter().flatten() {
            if let Some(n) = indegree.get_mut(dependent) {
                *n -= 1;
                if *n == 0 {
                    ready.push_back(dependent);
                }
            }
        }
    }
    if order.len() == deps.len() {
        return Ok(order);
    }
    // Walk dependencies from any unfinished node until one repeats: that is a cycle.
    let done: BTreeSet<&ResourceId> = order.iter().collect();
    let Some(start) = deps.keys().find(|id| !done.contains(id)) else {
        return Err(Vec::new());
    };
    let mut path = vec![start.clone()];
    let mut current = start;
    loop {
        let Some(next) = deps[current].iter().find(|d| !done.contains(d)) else {
            return Err(path);
        };
        if let Some(pos) = path.iter().position(|p| p == next) {
            let mut cycle = path.split_off(pos);
            cycle.push(next.clone());
            return Err(cycle);
        }
        path.push(next.clone());
        current = next;
    }
}

/// A graph that has passed `check`: unique ids, no dangling reference, no cycle.
#[derive(Clone, Debug)]
pub struct CheckedGraph {
    nodes: BTreeMap<ResourceId, ResourceSpec>,
    deps: BTreeMap<ResourceId, Vec<ResourceId>>,
    dependents: BTreeMap<ResourceId, Vec<ResourceId>>,
    order: Vec<ResourceId>,
}

impl CheckedGraph {
    pub fn get(&self, id: &ResourceId) -> Option<&ResourceSpec> {
        self.nodes.get(id)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Specs in dependency order (dependencies first), ties broken by id.
    pub fn in_order(&self) -> impl Iterator<Item = &ResourceSpec> {
        self.order.iter().filter_map(|id| self.nodes.get(id))
    }

    /// What `id` waits for.
    pub fn dependencies(&self, id: &ResourceId) -> &[ResourceId] {
        self.deps.get(id).map_or(&[], Vec::as_slice)
    }

    /// What waits for `id`.
    pub fn dependents(&self, id: &ResourceId) -> &[ResourceId] {
        self.dependents.get(id).map_or(&[], Vec::as_slice)
    }

    /// Graphviz rendering, stable for snapshots.
    pub fn to_dot(&self) -> String {
        let mut dot = String::from("digraph txdeploy {\n");
        for id in &self.order {
            let _ = writeln!(dot, "  \"{id}\";");
        }
        for (id, deps) in &self.deps {
            for dep in deps {
                let _ = writeln!(dot, "  \"{dep}\" -> \"{id}\";");
            }
        }
        dot.push('}');
        dot
    }
}
