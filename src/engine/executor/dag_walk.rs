//! `DagWalk`: the scheduling both the apply and its undo share: each node starts as soon as
//! every node it waits for has finished, nothing new starts once the phase is stopping, and
//! a node whose task panicked still comes back with its index.

use std::collections::{HashMap, VecDeque};
use std::future::Future;

use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

/// Where one node of a walk stands, as far as scheduling goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Not part of the walk (a no-op): never started, and never waited for.
    Idle,
    /// Waiting for this many nodes.
    Waiting(usize),
    /// Started; finished nodes stay here (the caller keeps the richer status).
    Started,
    /// Will never start: a node it waits for failed.
    Blocked,
}

/// The nodes of one phase, with who waits for whom, and the tasks running them.
pub(super) struct DagWalk<O> {
    slots: Vec<Slot>,
    /// For each node, the nodes that wait for it.
    dependents: Vec<Vec<usize>>,
    ready: VecDeque<usize>,
    tasks: JoinSet<(usize, O)>,
    running: HashMap<tokio::task::Id, usize>,
}

impl<O: Send + 'static> DagWalk<O> {
    /// A walk over `waits.len()` nodes, where node `i` waits for every node in `waits[i]`
    /// that `runs`; a node that does not run is neither started nor waited for.
    pub(super) fn new(waits: &[Vec<usize>], runs: impl Fn(usize) -> bool) -> Self {
        let mut dependents = vec![Vec::new(); waits.len()];
        let slots = waits
            .iter()
            .enumerate()
            .map(|(i, node_waits)| {
                if !runs(i) {
                    return Slot::Idle;
                }
                let mut count = 0;
                for &w in node_waits.iter().filter(|w| runs(**w)) {
                    dependents[w].push(i);
                    count += 1;
                }
                Slot::Waiting(count)
            })
            .collect::<Vec<_>>();
        let ready = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == Slot::Waiting(0))
            .map(|(i, _)| i)
            .collect();
        Self {
            slots,
            dependents,
            ready,
            tasks: JoinSet::new(),
            running: HashMap::new(),
        }
    }

    /// Starts every ready node through `start` (none once `stop` is cancelled), then waits
    /// for one started node to end. `None` when nothing is running any more. A task that
    /// panicked comes back as its node with the join error.
    pub(super) async fn next<F, Fut>(
        &mut self,
        stop: &CancellationToken,
        mut start: F,
    ) -> Option<(usize, Result<O, JoinError>)>
    where
        F: FnMut(usize) -> Fut,
        Fut: Future<Output = O> + Send + 'static,
    {
        if !stop.is_cancelled() {
            while let Some(i) = self.ready.pop_front() {
                self.slots[i] = Slot::Started;
                let task = start(i);
                let handle = self.tasks.spawn(async move { (i, task.await) });
                self.running.insert(handle.id(), i);
            }
        }
        loop {
            match self.tasks.join_next_with_id().await? {
                Ok((_, (i, outcome))) => return Some((i, Ok(outcome))),
                Err(e) => {
                    if let Some(i) = self.running.get(&e.id()).copied() {
                        return Some((i, Err(e)));
                    }
                }
            }
        }
    }

    /// Node `i` succeeded: the nodes that waited only for it are ready now.
    pub(super) fn release(&mut self, i: usize) {
        for &d in &self.dependents[i] {
            if let Slot::Waiting(n) = &mut self.slots[d] {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.ready.push_back(d);
                }
            }
        }
    }

    /// Node `i` failed: every node waiting for it, directly or through others, will never
    /// start. Returns each of them with the node it was waiting for, in discovery order.
    pub(super) fn block(&mut self, i: usize) -> Vec<(usize, usize)> {
        let mut blocked = Vec::new();
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            for &d in &self.dependents[n] {
                if matches!(self.slots[d], Slot::Waiting(_)) {
                    self.slots[d] = Slot::Blocked;
                    blocked.push((d, n));
                    stack.push(d);
                }
            }
        }
        blocked
    }

    /// The nodes that never started and were not blocked: the phase stopped before them.
    pub(super) fn never_started(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Slot::Waiting(_)))
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a walk to the end, failing the nodes in `failing`; returns the start order and
    /// the nodes blocked.
    async fn walk(waits: &[Vec<usize>], failing: &[usize]) -> (Vec<usize>, Vec<(usize, usize)>) {
        let stop = CancellationToken::new();
        let mut dag = DagWalk::new(waits, |_| true);
        let mut order = Vec::new();
        let mut blocked = Vec::new();
        while let Some((i, outcome)) = dag.next(&stop, |i| async move { i }).await {
            assert_eq!(outcome.ok(), Some(i));
            order.push(i);
            if failing.contains(&i) {
                blocked.extend(dag.block(i));
            } else {
                dag.release(i);
            }
        }
        (order, blocked)
    }

    #[tokio::test]
    async fn a_node_starts_only_after_everything_it_waits_for() {
        // 0 ← 1 ← 3, 0 ← 2 ← 3
        let waits = vec![vec![], vec![0], vec![0], vec![1, 2]];
        let (order, blocked) = walk(&waits, &[]).await;
        let position = |n| order.iter().position(|o| *o == n).unwrap_or(usize::MAX);
        assert_eq!(order.len(), 4);
        assert!(position(0) < position(1) && position(0) < position(2));
        assert!(position(1) < position(3) && position(2) < position(3));
        assert!(blocked.is_empty());
    }

    #[tokio::test]
    async fn a_failed_node_blocks_everything_behind_it_and_nothing_else() {
        // 0 ← 1 ← 2, and 3 independent.
        let waits = vec![vec![], vec![0], vec![1], vec![]];
        let (order, blocked) = walk(&waits, &[0]).await;
        assert_eq!(
            {
                let mut o = order.clone();
                o.sort_unstable();
                o
            },
            vec![0, 3]
        );
        assert_eq!(blocked, vec![(1, 0), (2, 1)]);
    }

    #[tokio::test]
    async fn nodes_that_do_not_run_are_not_waited_for() {
        // 1 waits for 0, which does not run (a no-op).
        let waits = vec![vec![], vec![0]];
        let stop = CancellationToken::new();
        let mut dag = DagWalk::new(&waits, |i| i != 0);
        let first = dag.next(&stop, |i| async move { i }).await;
        assert_eq!(first.map(|(i, _)| i), Some(1));
        assert_eq!(dag.never_started().count(), 0);
    }

    #[tokio::test]
    async fn a_stopped_walk_starts_nothing_new() {
        let waits = vec![vec![], vec![0]];
        let stop = CancellationToken::new();
        let mut dag = DagWalk::new(&waits, |_| true);
        let first = dag.next(&stop, |i| async move { i }).await;
        assert_eq!(first.map(|(i, _)| i), Some(0));
        dag.release(0);
        stop.cancel();
        assert!(dag.next(&stop, |i| async move { i }).await.is_none());
        assert_eq!(dag.never_started().collect::<Vec<_>>(), vec![1]);
    }

    #[tokio::test]
    async fn a_panicking_task_comes_back_as_its_node() {
        let waits = vec![vec![]];
        let stop = CancellationToken::new();
        let mut dag: DagWalk<usize> = DagWalk::new(&waits, |_| true);
        let ended = dag
            .next(&stop, |i| async move {
                assert!(i > 0, "node {i} panics on purpose");
                i
            })
            .await;
        let (i, outcome) = ended.unwrap_or((usize::MAX, Ok(0)));
        assert_eq!(i, 0);
        assert!(outcome.is_err_and(|e| e.is_panic()));
    }
}
