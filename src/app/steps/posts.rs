//! Messages: `post` (in the incident channel), `thread_reply` (under the announcement) and
//! `report` (telling someone something) — and **the one way every step posts: once.**
//!
//! Idempotency: a post carries its job's key (the cause that enqueued it,
//! `slash:<trigger_id>:0:post`; the reminder's and the digest's add their due time) in Slack
//! message metadata ([`post_once`]). Any attempt after the first — a retry after a lost answer or
//! a timeout, or a takeover after a crash between Slack's answer and our commit — first looks
//! for that key among the channel's newest messages (`conversations.history`), or the thread's
//! (`conversations.replies`), and adopts the post it finds. Posts to one channel share a lane:
//! they run in the order recorded, one at a time, about a second apart. A report through a
//! response URL is seen by one person and cannot be read back: a lost answer may repeat it. A
//! post to a channel archived meanwhile is dropped (Slack's `is_archived`), not reported.

use super::{ReportTo, Shared, Step, StepError, load};
use crate::domain::cause::Cause;
use crate::domain::message::Message;
use crate::slack::SlackError;
use crate::store::{Job, Outcome};

pub(super) async fn execute(shared: &Shared, job: &Job, step: &Step) -> Result<Outcome, StepError> {
    let key = post_key(job);
    match step {
        Step::Post { channel, message } => {
            match post_once(shared, job, channel, None, message, &key).await {
                // An archived channel takes nothing more, and nobody reads a report there:
                // what was to be said is on the timeline (a ticket closed weeks later).
                Err(SlackError::Api { code }) if code == "is_archived" => {
                    tracing::info!(channel, "not posting: the channel is archived");
                }
                other => {
                    other?;
                }
            }
        }
        Step::ThreadReply { message, .. } => {
            // The announcement was posted earlier in the same lane, if it was posted at all.
            let incident = load(shared, job).await?;
            if let (Some(channel), Some(ts)) =
                (&incident.announcement_channel, &incident.announcement_ts)
            {
                post_once(shared, job, channel, Some(ts), message, &key).await?;
            }
        }
        Step::Report { to, text } => match to {
            ReportTo::Channel { id } => {
                post_once(shared, job, id, None, &Message::text(text), &key).await?;
            }
            ReportTo::ResponseUrl { url } => shared.ws.slack.respond(url, text).await?,
        },
        other => {
            return Err(StepError::permanent(format!(
                "{} is not a post",
                other.kind()
            )));
        }
    }
    Ok(Outcome::default())
}

pub(super) fn description(step: &Step) -> Option<String> {
    Some(match step {
        Step::Post { .. } => "Posting a message".into(),
        Step::ThreadReply { channel, .. } => format!(
            "Replying in the announcement's thread in {}",
            crate::domain::mrkdwn::channel(channel)
        ),
        Step::Report { .. } => "Telling someone".into(),
        _ => return None,
    })
}

/// The key a job's posts carry in their metadata: the job's own key (its cause), else its id.
pub(super) fn post_key(job: &Job) -> String {
    job.key.clone().unwrap_or_else(|| Cause::Job(job.id).key())
}

/// Posts `message` in `channel` (in the thread of `thread` when given) once: the post carries
/// `key`, and a step run again after an attempt whose outcome is unknown (a lost answer, a
/// timeout, a crash before the commit — any attempt after the first) first looks for it and
/// adopts it.
pub(super) async fn post_once(
    shared: &Shared,
    job: &Job,
    channel: &str,
    thread: Option<&str>,
    message: &Message,
    key: &str,
) -> Result<String, SlackError> {
    if job.attempt > 1
        && let Some(ts) = find_post(shared, channel, thread, key).await?
    {
        tracing::info!(
            job.key = key,
            "an earlier attempt's post is there; adopted, not repeated"
        );
        return Ok(ts);
    }
    shared.ws.slack.post(channel, thread, message, key).await
}

/// The bot's post carrying `key` in `channel` (or its thread `thread`). A channel the bot is
/// not in holds no post of its own.
pub(super) async fn find_post(
    shared: &Shared,
    channel: &str,
    thread: Option<&str>,
    key: &str,
) -> Result<Option<String>, SlackError> {
    match shared.ws.slack.find_post(channel, thread, key).await {
        Err(SlackError::Api { code }) if code == "not_in_channel" => Ok(None),
        other => other,
    }
}
