//! The connections of a run, shared: one session per route (the chain of bastions plus the
//! endpoint), so every host behind a bastion rides on the bastion's one connection, and each
//! host's own session is reused by every command sent to it.
//!
//! Concurrent requests for the same route wait for one opening instead of each opening their
//! own; a failure is handed to everyone who was already waiting for it, and a connection found
//! closed is opened again on next use. This file does not run commands or check host keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::session::{ConnectError, HostKeyPolicy, Opener, Session};
use super::target::{Endpoint, SshTarget};

/// A route: `(user, host, port)` for each hop, outermost first.
type Route = Vec<(String, String, u16)>;

/// The state of one route's connection.
enum Slot {
    /// Never opened, or shut down.
    Empty,
    /// Open (or closed since, which is checked on use).
    Ready(Arc<Session>),
    /// The last attempt failed at this instant.
    Failed(Instant, ConnectError),
}

/// Every connection of a run, keyed by route.
pub(crate) struct Pool {
    opener: Opener,
    slots: Mutex<HashMap<Route, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl Pool {
    /// An empty pool that opens connections with `opener`.
    pub(crate) fn new(opener: Opener) -> Pool {
        Pool {
            opener,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The session to `target`, opening it (and the bastions before it) when needed.
    pub(crate) async fn session(
        &self,
        target: &SshTarget,
        policy: &HostKeyPolicy,
    ) -> Result<Arc<Session>, ConnectError> {
        let asked = Instant::now();
        let mut route = Route::new();
        let mut via = None;
        for endpoint in target.route() {
            route.push((endpoint.user.clone(), endpoint.host.clone(), endpoint.port));
            let slot = self.slot(&route);
            via = Some(self.open_slot(&slot, endpoint, via, policy, asked).await?);
        }
        Ok(via.expect("a route always ends with the host itself"))
    }

    /// Disconnects the session to `target` itself (the bastions' stay open); the next use opens
    /// a new one.
    pub(crate) async fn close(&self, target: &SshTarget) {
        let route: Route = target
            .route()
            .map(|hop| (hop.user.clone(), hop.host.clone(), hop.port))
            .collect();
        let slot = self.slots.lock().expect("pool lock").get(&route).cloned();
        let Some(slot) = slot else { return };
        let previous = std::mem::replace(&mut *slot.lock().await, Slot::Empty);
        if let Slot::Ready(session) = previous {
            session.disconnect().await;
        }
    }

    /// Disconnects every session, hosts before the bastions they go through.
    pub(crate) async fn shutdown(&self) {
        let mut slots: Vec<_> = self.slots.lock().expect("pool lock").drain().collect();
        slots.sort_by_key(|(route, _)| std::cmp::Reverse(route.len()));
        for (_, slot) in slots {
            let previous = std::mem::replace(&mut *slot.lock().await, Slot::Empty);
            if let Slot::Ready(session) = previous {
                session.disconnect().await;
            }
        }
    }

    fn slot(&self, route: &Route) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().expect("pool lock");
        slots
            .entry(route.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(Slot::Empty)))
            .clone()
    }

    /// Returns the slot's live session, or opens one; waiters share the outcome.
    async fn open_slot(
        &self,
        slot: &tokio::sync::Mutex<Slot>,
        endpoint: &Endpoint,
        via: Option<Arc<Session>>,
        policy: &HostKeyPolicy,
        asked: Instant,
    ) -> Result<Arc<Session>, ConnectError> {
        let mut state = slot.lock().await;
        match &*state {
            Slot::Ready(session) if !session.is_closed() => return Ok(session.clone()),
            Slot::Failed(at, error) if *at >= asked => return Err(error.clone()),
            Slot::Ready(session) => {
                tracing::debug!(session = %session.label, "connection lost; reconnecting")
            }
            _ => {}
        }
        match self.opener.open(endpoint, via, policy).await {
            Ok(session) => {
                let session = Arc::new(session);
                *state = Slot::Ready(session.clone());
                Ok(session)
            }
            Err(error) => {
                *state = Slot::Failed(Instant::now(), error.clone());
                Err(error)
            }
        }
    }
}
