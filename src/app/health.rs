//! What the process knows about its own health, and the supervision of its tasks.
//!
//! [`Health`] is what `/readyz` and `/metrics` read: the Socket Mode connections and their
//! states as the listener keeps them, whether shutdown has begun, and whether a task died. [`Tasks`] runs the job worker,
//! the Socket Mode listener and the HTTP server, and notices when one ends before it was asked
//! to (an error, a panic, or simply returning): readiness turns false at once, and `App::run`
//! stops the others and returns an error, so the process exits non-zero and is restarted —
//! rather than acking declarations that no worker will ever carry out.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, warn};

use crate::slack::Connections;

/// The process's view of itself.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// Socket Mode connections and their states, as the listener keeps them.
    pub connections: Arc<Connections>,
    stopping: AtomicBool,
    died: Mutex<Option<String>>,
}

impl Health {
    pub(crate) fn stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub(crate) fn died(&self, what: String) {
        if let Ok(mut died) = self.died.lock() {
            died.get_or_insert(what);
        }
    }

    /// `Err` when a task died or shutdown has begun.
    pub(super) fn tasks(&self) -> Result<(), String> {
        if let Some(what) = self.died.lock().ok().and_then(|d| d.clone()) {
            return Err(what);
        }
        if self.stopping.load(Ordering::SeqCst) {
            return Err("shutting down".into());
        }
        Ok(())
    }
}

/// The process's long-running tasks, each of which must run until shutdown.
pub(crate) struct Tasks {
    ended_tx: mpsc::UnboundedSender<(&'static str, String)>,
    ended_rx: mpsc::UnboundedReceiver<(&'static str, String)>,
    handles: Vec<(&'static str, JoinHandle<()>)>,
}

impl Tasks {
    pub(crate) fn new() -> Tasks {
        let (ended_tx, ended_rx) = mpsc::unbounded_channel();
        Tasks {
            ended_tx,
            ended_rx,
            handles: Vec::new(),
        }
    }

    /// Runs `task` as `name`. Its end — `Ok`, `Err` or a panic — is reported to [`Tasks::watch`].
    pub(crate) fn spawn(
        &mut self,
        name: &'static str,
        task: impl Future<Output = Result<(), String>> + Send + 'static,
    ) {
        let ended = self.ended_tx.clone();
        let handle = tokio::spawn(async move {
            let how = match std::panic::AssertUnwindSafe(task).catch_unwind().await {
                Ok(Ok(())) => "returned".to_string(),
                Ok(Err(e)) => format!("failed: {e}"),
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".into());
                    format!("panicked: {what}")
                }
            };
            let _ = ended.send((name, how));
        });
        self.handles.push((name, handle));
    }

    /// Waits for `shutdown`, or for a task to end first: then `Some((name, how it ended))`.
    pub(crate) async fn watch(
        &mut self,
        shutdown: impl Future<Output = ()>,
    ) -> Option<(&'static str, String)> {
        tokio::select! {
            () = shutdown => None,
            Some(ended) = self.ended_rx.recv() => Some(ended),
        }
    }

    /// Waits up to `within` for the tasks called `names` to end; aborts those that do not.
    pub(crate) async fn join(&mut self, names: &[&str], within: Duration) {
        for (name, handle) in self.handles.iter_mut().filter(|(n, _)| names.contains(n)) {
            if tokio::time::timeout(within, &mut *handle).await.is_err() {
                warn!(task = *name, "did not stop in time; aborting it");
                handle.abort();
            }
        }
    }
}

/// The tasks die with their owner: a `run` whose future is dropped (a test's crash, a runtime
/// shutting down) leaves nothing of the process running behind it.
impl Drop for Tasks {
    fn drop(&mut self) {
        for (_, handle) in &self.handles {
            handle.abort();
        }
    }
}

/// Logs a task that died and marks the process unready.
pub(crate) fn report_death(health: &Health, name: &str, how: &str) {
    error!(
        task = name,
        how, "a task of the process stopped; shutting down"
    );
    health.died(format!("the {name} stopped ({how})"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_ends_before_shutdown_is_reported_with_how() {
        let mut tasks = Tasks::new();
        tasks.spawn("forever", std::future::pending());
        tasks.spawn("quitter", async {
            Err("the database went away".to_string())
        });
        let ended = tasks.watch(std::future::pending()).await;
        assert_eq!(
            ended,
            Some(("quitter", "failed: the database went away".to_string()))
        );
        tasks.join(&["forever"], Duration::from_millis(10)).await;
    }

    #[tokio::test]
    async fn a_panic_is_a_death_too_and_shutdown_is_not() {
        let mut tasks = Tasks::new();
        tasks.spawn("panicker", async {
            panic!("boom");
        });
        let ended = tasks.watch(std::future::pending()).await;
        assert_eq!(ended, Some(("panicker", "panicked: boom".to_string())));
        let mut calm = Tasks::new();
        calm.spawn("forever", std::future::pending());
        assert_eq!(calm.watch(async {}).await, None);
    }

    #[test]
    fn health_says_which_task_died_first() {
        let health = Health::default();
        assert_eq!(health.tasks(), Ok(()));
        health.stopping();
        assert_eq!(health.tasks(), Err("shutting down".to_string()));
        report_death(&health, "job worker", "returned");
        report_death(&health, "HTTP server", "returned");
        assert_eq!(
            health.tasks(),
            Err("the job worker stopped (returned)".to_string())
        );
    }
}
