//! The linear strategy's barrier: no host starts a step until every host still in the play has
//! reached it. Steps are ordered positions, so hosts on different paths through blocks and
//! rescues still move in order, and hosts that skip a step never hold the others back.
//!
//! Inside a dynamic include a position is nested: the include's step and iteration come first,
//! so each loop item's steps come after the previous item's, and a host with fewer items goes on
//! to the steps after the include while the others finish theirs.

use tokio::sync::watch;

/// A point in a play's steps, compared in order: one (step order, sub-step) pair per level (see
/// `StepId::order`).
/// The outer levels are the dynamic includes the step is in, with the iteration (1 for the first
/// item) as the sub-step; the last level is the step itself, with the sub-step of a handler
/// flushed there (0 for the step itself).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(Vec<(u64, u32)>);

impl Position {
    /// The step at `order`, at sub-step `sub`, outside any include.
    pub fn step(order: u64, sub: u32) -> Self {
        Position(vec![(order, sub)])
    }

    /// The step at `order` inside this position (an include's iteration).
    pub fn within(&self, order: u64) -> Self {
        let mut levels = self.0.clone();
        levels.push((order, 0));
        Position(levels)
    }

    /// The same step at sub-step `sub` (a handler flushed there, an include's iteration).
    pub fn sub_step(&self, sub: u32) -> Self {
        let mut levels = self.0.clone();
        if let Some(last) = levels.last_mut() {
            last.1 = sub;
        }
        Position(levels)
    }

    /// Whether this is a sub-step rather than the step itself.
    pub fn is_sub_step(&self) -> bool {
        self.0.last().is_some_and(|(_, sub)| *sub > 0)
    }
}

/// Where a host that has left the play stands: past every step.
fn done() -> Position {
    Position::step(u64::MAX, u32::MAX)
}

/// Keeps hosts in step (linear), or lets them run free.
pub struct Lockstep {
    positions: watch::Sender<Vec<Position>>,
    enabled: bool,
}

impl Lockstep {
    /// A barrier for `hosts` hosts; `enabled` false makes every wait return at once (free).
    pub fn new(hosts: usize, enabled: bool) -> Self {
        Lockstep {
            positions: watch::Sender::new(vec![Position::step(0, 0); hosts]),
            enabled,
        }
    }

    /// Host `index` is ready to run the step at `position`: returns once every other host has
    /// reached it or left, with whether this host leads the step (it is the first host, in
    /// inventory order, at this position: the one a `run_once` step runs on). Without lockstep
    /// every host leads.
    pub async fn arrive(&self, index: usize, position: Position) -> bool {
        self.positions.send_modify(|p| p[index] = position.clone());
        if !self.enabled {
            return true;
        }
        let mut receiver = self.positions.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        receiver
            .wait_for(|all| all.iter().all(|p| *p >= position))
            .await
            .map_or(true, |all| {
                all.iter().position(|p| *p == position) == Some(index)
            })
    }

    /// Host `index`, which has failed, waits until every other host has finished the step it
    /// is at (gone on to a later one, or left), while holding them there: what it does next (a
    /// rollback) runs and is reported between that step and the next.
    pub async fn hold_between_steps(&self, index: usize) {
        let between = self.positions.borrow()[index].sub_step(u32::MAX - 1);
        self.arrive(index, between).await;
    }

    /// Host `index` has no more steps in this play.
    pub fn leave(&self, index: usize) {
        self.positions.send_modify(|p| p[index] = done());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::Mutex;

    #[tokio::test]
    async fn hosts_start_each_step_together() {
        let lockstep = Arc::new(Lockstep::new(2, true));
        let log = Arc::new(Mutex::new(Vec::new()));
        let host = |index: usize, steps: Vec<u64>, delay: u64| {
            let (lockstep, log) = (Arc::clone(&lockstep), Arc::clone(&log));
            tokio::spawn(async move {
                for step in steps {
                    lockstep.arrive(index, Position::step(step, 0)).await;
                    log.lock().unwrap().push((step, index));
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                }
                lockstep.leave(index);
            })
        };
        // Host 1 skips step 2 (a rescue it does not need) and is slow.
        let a = host(0, vec![1, 2, 3], 1);
        let b = host(1, vec![1, 3], 30);
        a.await.unwrap();
        b.await.unwrap();
        let steps: Vec<u64> = log.lock().unwrap().iter().map(|(s, _)| *s).collect();
        assert_eq!(steps, [1, 1, 2, 3, 3]);
    }

    #[tokio::test]
    async fn the_first_host_in_order_leads_each_step() {
        let lockstep = Arc::new(Lockstep::new(3, true));
        let arrivals = [2, 0, 1].map(|index| {
            let lockstep = Arc::clone(&lockstep);
            tokio::spawn(async move { (index, lockstep.arrive(index, Position::step(1, 0)).await) })
        });
        let mut leaders = Vec::new();
        for arrival in arrivals {
            let (index, leads) = arrival.await.unwrap();
            if leads {
                leaders.push(index);
            }
        }
        assert_eq!(leaders, [0]);
    }

    #[tokio::test]
    async fn a_failed_host_acts_between_the_step_it_failed_at_and_the_next() {
        let lockstep = Arc::new(Lockstep::new(2, true));
        let log = Arc::new(Mutex::new(Vec::new()));
        let record = |what: &'static str| {
            let log = Arc::clone(&log);
            move || log.lock().unwrap().push(what)
        };
        let failed = {
            let (lockstep, done) = (Arc::clone(&lockstep), record("rollback"));
            tokio::spawn(async move {
                lockstep.arrive(0, Position::step(1, 0)).await;
                lockstep.hold_between_steps(0).await;
                done();
                lockstep.leave(0);
            })
        };
        let slow = {
            let (lockstep, first, second) = (
                Arc::clone(&lockstep),
                record("step 1 done"),
                record("step 2"),
            );
            tokio::spawn(async move {
                lockstep.arrive(1, Position::step(1, 0)).await;
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                first();
                lockstep.arrive(1, Position::step(2, 0)).await;
                second();
                lockstep.leave(1);
            })
        };
        failed.await.unwrap();
        slow.await.unwrap();
        assert_eq!(*log.lock().unwrap(), ["step 1 done", "rollback", "step 2"]);
    }

    #[tokio::test]
    async fn hosts_with_different_numbers_of_include_items_never_wait_for_each_other_backwards() {
        // An include at step 1 whose body is steps 2 and 3, then step 4: host 0 has two items,
        // host 1 one, host 2 none.
        let lockstep = Arc::new(Lockstep::new(3, true));
        let log = Arc::new(Mutex::new(Vec::new()));
        let host = |index: usize, items: u32| {
            let (lockstep, log) = (Arc::clone(&lockstep), Arc::clone(&log));
            tokio::spawn(async move {
                let include = Position::step(1, 0);
                lockstep.arrive(index, include.clone()).await;
                for item in 1..=items {
                    let iteration = include.sub_step(item);
                    for step in [2, 3] {
                        lockstep.arrive(index, iteration.within(step)).await;
                        log.lock().unwrap().push(format!("{index}:{item}.{step}"));
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                }
                lockstep.arrive(index, Position::step(4, 0)).await;
                log.lock().unwrap().push(format!("{index}:4"));
                lockstep.leave(index);
            })
        };
        let walks = [host(0, 2), host(1, 1), host(2, 0)];
        let all = async {
            for walk in walks {
                walk.await.unwrap();
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), all)
            .await
            .expect("no deadlock");
        let log = log.lock().unwrap().clone();
        let at = |entry: &str| log.iter().position(|e| e == entry).unwrap();
        assert!(
            at("0:1.3") > at("1:1.2") && at("1:1.3") > at("0:1.2"),
            "{log:?}"
        );
        assert!(
            at("1:4") > at("0:2.3") && at("2:4") > at("0:2.3"),
            "{log:?}"
        );
        assert!(at("0:2.2") > at("1:1.3"), "{log:?}");
    }
}
