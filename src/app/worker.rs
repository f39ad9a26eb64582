//! The job worker: claims due jobs, runs them concurrently, records their outcome.
//!
//! Claims are leases ([`super::JOB_LEASE`]) owned by this process's random id; on PostgreSQL they
//! are taken `FOR UPDATE SKIP LOCKED`, so any number of replicas share the queue and a job whose
//! owner died is taken over when its lease expires. Every outcome is fenced on the lease and the
//! generation, so a worker that lost its lease writes nothing.
//!
//! A failed step is retried with capped exponential backoff and jitter, or after Slack's
//! `Retry-After` on a 429; a permanent error (or too many attempts: `Step::max_attempts`) marks it failed and enqueues a
//! report to the user. The worker wakes on [`AppState::wake`](super::AppState::wake) (work was just recorded), when a job
//! finishes (its follow-ups are due), when the earliest scheduled job falls due (a reminder is
//! posted on its second, not on the next poll), and otherwise polls every [`POLL_INTERVAL`] —
//! the safety net for work another replica scheduled.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{Instrument, error, info, info_span, warn};

use super::Shared;
use super::steps::{self, Step, StepError};
use crate::store::{Finished, Job, Outcome, StoreError};

/// How often the queue is polled when nothing wakes the worker.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The shortest sleep between claims when nothing wakes the worker.
const MIN_NAP: Duration = Duration::from_millis(10);
/// Jobs this process runs at once.
const CONCURRENCY: usize = 8;
/// How long shutdown waits for jobs in flight.
const DRAIN: Duration = Duration::from_secs(10);

pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut running = JoinSet::new();
    // In a set, so that it stops with the worker even when the worker is dropped mid-loop.
    let mut renewing = JoinSet::new();
    renewing.spawn(renew(shared.clone(), slots.clone()));
    loop {
        if *stop.borrow() {
            break;
        }
        let free = slots.available_permits();
        let mut claimed_all = false;
        if free > 0 {
            let now = shared.clock.now();
            match shared
                .store
                .claim_jobs(&shared.owner, now, super::JOB_LEASE, free as i64)
                .await
            {
                Ok(jobs) => {
                    claimed_all = jobs.len() == free;
                    for job in jobs {
                        let Ok(permit) = slots.clone().acquire_owned().await else {
                            break;
                        };
                        let shared = shared.clone();
                        running.spawn(async move {
                            run_job(&shared, job).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => error!(error = %e, "claiming jobs failed"),
            }
        }
        if claimed_all {
            // There may be more due work than slots: come back as soon as one frees up.
            if running.join_next().await.is_some() {
                while running.try_join_next().is_some() {}
                continue;
            }
        }
        let nap = until_next_due(&shared).await;
        tokio::select! {
            _ = stop.changed() => break,
            _ = shared.wake.notified() => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = tokio::time::sleep(nap) => {}
        }
        // Reap every job that finished meanwhile: one claim serves them all. (Reaping one per
        // turn made a burst of N jobs cost N more claims and queue scans afterwards.)
        while running.try_join_next().is_some() {}
    }
    renewing.abort_all();
    if tokio::time::timeout(DRAIN, async {
        while running.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        warn!(
            "jobs still running at shutdown; their leases will expire and another run will redo them"
        );
    }
}

async fn run_job(shared: &Shared, job: Job) {
    let span = info_span!(
        "job",
        job.id = job.id,
        job.kind = %job.kind,
        incident.id = job.incident_id,
        attempt = job.attempt
    );
    async {
        let step: Step = match serde_json::from_value(job.payload.clone()) {
            Ok(step) => step,
            Err(e) => {
                let reason = format!("unreadable job payload: {e}");
                error!(%reason);
                let now = shared.clock.now();
                finished(
                    shared,
                    shared
                        .store
                        .fail_job(&job, &reason, Outcome::default(), now)
                        .await,
                );
                return;
            }
        };
        // The job acts in its incident's workspace (the digest: the one it names).
        let named = match &step {
            Step::Digest { workspace, .. } => Some(workspace.as_str()),
            _ => None,
        };
        let workspace = match shared.workspaces.of_job(shared, &job, named).await {
            Ok(Some(workspace)) => workspace,
            Ok(None) => {
                // The workspace uninstalled the app: nothing can be done there any more.
                info!("the job's workspace no longer has the app installed; dropped");
                let now = shared.clock.now();
                finished(
                    shared,
                    shared
                        .store
                        .complete_job(&job, Outcome::default(), now)
                        .await,
                );
                return;
            }
            Err(e) => {
                // The lease will expire and the job be claimed again.
                finished(shared, Err(e));
                return;
            }
        };
        let in_workspace;
        let shared = if workspace.id == shared.ws.id {
            shared
        } else {
            in_workspace = shared.with(&workspace);
            &*in_workspace
        };
        match steps::execute(shared, &job, &step).await {
            Ok(outcome) => {
                let now = shared.clock.now();
                finished(shared, shared.store.complete_job(&job, outcome, now).await);
            }
            Err(e) if e.is_transient() && job.attempt < step.max_attempts() => {
                let delay = e.retry_after().unwrap_or_else(|| backoff(job.attempt));
                warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "step will be retried");
                let now = shared.clock.now();
                let at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                match shared.store.retry_job(&job, at, &e.to_string(), now).await {
                    Ok(true) => {}
                    Ok(false) => finished(shared, Ok(Finished::LeaseLost)),
                    Err(e) => finished(shared, Err(e)),
                }
            }
            Err(e) => fail(shared, &job, &step, e).await,
        }
    }
    .instrument(span)
    .await
}

async fn fail(shared: &Shared, job: &Job, step: &Step, error: StepError) {
    error!(error = %error, "step failed for good");
    let outcome = steps::failure_outcome(shared, job, step, &error).await;
    let now = shared.clock.now();
    let result = shared
        .store
        .fail_job(job, &error.to_string(), outcome, now)
        .await;
    finished(shared, result);
}

/// Logs how finishing a job went, and wakes the worker: a finished job may have enqueued
/// follow-ups, freed its lane, or been re-armed to run again.
fn finished(shared: &Shared, result: Result<Finished, StoreError>) {
    match result {
        Ok(Finished::Yes) => {}
        Ok(Finished::Rearmed) => info!("the job was re-armed while it ran; it runs again"),
        Ok(Finished::LeaseLost) => {
            info!("lease lost before the outcome was recorded; another worker owns the job now");
        }
        Err(e) => {
            // The lease will expire and the job run again; every step is idempotent.
            error!(error = %e, "recording a job outcome failed");
        }
    }
    shared.wake.notify_one();
}

/// How long to sleep: until the earliest scheduled job is due, at most [`POLL_INTERVAL`], at
/// least [`MIN_NAP`] (a guard against spinning on a job the claim would not take).
async fn until_next_due(shared: &Shared) -> Duration {
    match shared.store.next_due().await {
        Ok(Some(at)) => (at - shared.clock.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .clamp(MIN_NAP, POLL_INTERVAL),
        Ok(None) => POLL_INTERVAL,
        Err(e) => {
            error!(error = %e, "reading the next due job failed");
            POLL_INTERVAL
        }
    }
}

/// Renews the leases of this process's running jobs every third of a lease, while any run.
async fn renew(shared: Arc<Shared>, slots: Arc<Semaphore>) {
    let every = super::JOB_LEASE / 3;
    loop {
        tokio::time::sleep(every).await;
        if slots.available_permits() == CONCURRENCY {
            continue;
        }
        let until = shared.clock.now()
            + chrono::Duration::from_std(super::JOB_LEASE).unwrap_or(chrono::Duration::MAX);
        if let Err(e) = shared.store.renew_leases(&shared.owner, until).await {
            // The leases may lapse and another worker redo the jobs; every step is idempotent.
            warn!(error = %e, "renewing job leases failed");
        }
    }
}

/// 1 s, 2 s, 4 s … capped at 5 minutes, ±20% jitter so retries of many jobs spread out.
fn backoff(attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 20) - 1;
    let base = Duration::from_secs(1u64 << exp).min(Duration::from_secs(300));
    let jitter = rand::rng().random_range(0.8..1.2);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for (attempt, expected) in [
            (1, 1.0),
            (2, 2.0),
            (3, 4.0),
            (9, 256.0),
            (10, 300.0),
            (40, 300.0),
        ] {
            let d = backoff(attempt).as_secs_f64();
            assert!(
                d >= expected * 0.8 && d <= expected * 1.2,
                "attempt {attempt}: {d}"
            );
        }
    }
}
