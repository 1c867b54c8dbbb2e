//! The linear strategy's barrier: no host starts a step until every host still in the play has
//! reached it. Steps are ordered positions, so hosts on different paths through blocks and
//! rescues still move in order, and hosts that skip a step never hold the others back.

use tokio::sync::watch;

/// A point in a play's steps: (sequence number, sub-step for handlers flushed there).
pub type Position = (u32, u32);

/// Where a host that has left the play stands: past every step.
const DONE: Position = (u32::MAX, u32::MAX);

/// Keeps hosts in step (linear), or lets them run free.
pub struct Lockstep {
    positions: watch::Sender<Vec<Position>>,
    enabled: bool,
}

impl Lockstep {
    /// A barrier for `hosts` hosts; `enabled` false makes every wait return at once (free).
    pub fn new(hosts: usize, enabled: bool) -> Self {
        Lockstep {
            positions: watch::Sender::new(vec![(0, 0); hosts]),
            enabled,
        }
    }

    /// Host `index` is ready to run the step at `position`: returns once every other host has
    /// reached it or left, with whether this host leads the step (it is the first host, in
    /// inventory order, at this position: the one a `run_once` step runs on). Without lockstep
    /// every host leads.
    pub async fn arrive(&self, index: usize, position: Position) -> bool {
        self.positions.send_modify(|p| p[index] = position);
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
        let (step, _) = self.positions.borrow()[index];
        self.arrive(index, (step, u32::MAX - 1)).await;
    }

    /// Host `index` has no more steps in this play.
    pub fn leave(&self, index: usize) {
        self.positions.send_modify(|p| p[index] = DONE);
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
        let host = |index: usize, steps: Vec<u32>, delay: u64| {
            let (lockstep, log) = (Arc::clone(&lockstep), Arc::clone(&log));
            tokio::spawn(async move {
                for step in steps {
                    lockstep.arrive(index, (step, 0)).await;
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
        let steps: Vec<u32> = log.lock().unwrap().iter().map(|(s, _)| *s).collect();
        assert_eq!(steps, [1, 1, 2, 3, 3]);
    }

    #[tokio::test]
    async fn the_first_host_in_order_leads_each_step() {
        let lockstep = Arc::new(Lockstep::new(3, true));
        let arrivals = [2, 0, 1].map(|index| {
            let lockstep = Arc::clone(&lockstep);
            tokio::spawn(async move { (index, lockstep.arrive(index, (1, 0)).await) })
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
                lockstep.arrive(0, (1, 0)).await;
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
                lockstep.arrive(1, (1, 0)).await;
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                first();
                lockstep.arrive(1, (2, 0)).await;
                second();
                lockstep.leave(1);
            })
        };
        failed.await.unwrap();
        slow.await.unwrap();
        assert_eq!(*log.lock().unwrap(), ["step 1 done", "rollback", "step 2"]);
    }
}
