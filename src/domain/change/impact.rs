//! `/inc impact [start <HH:MM|now>] [end <HH:MM|now>] [<who is affected>]`: when customers were
//! affected and who. Times are the team's clock (`TZ`), the latest such time not in the future
//! (`start 23:50` typed at 00:10 is yesterday's). By anyone in the channel, in any status — the
//! impact is often known only afterwards. Shown on the card, summed by `/inc stats`, and in the
//! postmortem's Impact section.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::draft::Draft;
use super::{Effect, Refusal};
use crate::domain::message::{self, Message};
use crate::domain::mrkdwn;
use crate::domain::timeline::Entry;

/// A time typed in a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockTime {
    Now,
    /// `HH:MM` on the team's clock.
    At {
        hour: u32,
        minute: u32,
    },
}

impl ClockTime {
    /// `now`, or `14:02`.
    pub fn parse(word: &str) -> Option<ClockTime> {
        if word.eq_ignore_ascii_case("now") {
            return Some(ClockTime::Now);
        }
        let (h, m) = word.split_once(':')?;
        let (hour, minute) = (h.parse().ok()?, m.parse().ok()?);
        (hour < 24 && minute < 60 && m.len() == 2).then_some(ClockTime::At { hour, minute })
    }

    /// The latest moment at or before `now` that reads so on `tz`'s clock.
    pub fn resolve(self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let ClockTime::At { hour, minute } = self else {
            return now;
        };
        let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default();
        let today = now.with_timezone(&tz).date_naive();
        [today, today - Duration::days(1)]
            .into_iter()
            .filter_map(|day| tz.from_local_datetime(&day.and_time(time)).earliest())
            .map(|t| t.with_timezone(&Utc))
            .find(|t| *t <= now)
            .unwrap_or(now)
    }
}

pub(super) fn decide(
    d: &mut Draft<'_>,
    start: Option<ClockTime>,
    end: Option<ClockTime>,
    who: Option<String>,
) -> Result<(), Refusal> {
    let tz = d.policy.aftercare.tz;
    if let Some(start) = start {
        d.next.impact_started_at = Some(start.resolve(d.now, tz));
    }
    if let Some(end) = end {
        d.next.impact_ended_at = Some(end.resolve(d.now, tz));
    }
    if let Some(who) = who {
        d.next.impact = Some(who);
    }
    match (d.next.impact_started_at, d.next.impact_ended_at) {
        (None, Some(_)) => {
            return Err(Refusal::Unchanged(
                "Say when the impact started too: `/inc impact start 14:02 end 14:40`.".into(),
            ));
        }
        (Some(start), Some(end)) if end < start => {
            return Err(Refusal::Unchanged(
                "The impact cannot end before it started; nothing was changed.".into(),
            ));
        }
        _ => {}
    }
    d.entries.push(Entry::ImpactSet {
        started_at: d.next.impact_started_at,
        ended_at: d.next.impact_ended_at,
        who: d.next.impact.clone(),
    });
    let mut post = format!(
        ":busts_in_silhouette: {} noted the customer impact",
        mrkdwn::user(d.actor.user)
    );
    if let Some(window) = message::impact_window(&d.next) {
        post.push_str(&format!(": {window}"));
    }
    if let Some(who) = &d.next.impact {
        post.push_str(&format!(" — {}", mrkdwn::escape(who)));
    }
    d.effects.push(Effect::Post(Message::text(post)));
    d.effects.push(Effect::SyncCard);
    d.reply = format!("Customer impact noted for *{}*.", d.before.reference());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_time_is_the_latest_such_time_not_in_the_future() {
        let berlin: Tz = "Europe/Berlin".parse().expect("tz");
        let now = DateTime::parse_from_rfc3339("2026-12-07T23:10:00Z")
            .expect("t")
            .with_timezone(&Utc); // 00:10 on the 8th in Berlin
        let t = ClockTime::parse("23:50")
            .expect("time")
            .resolve(now, berlin);
        assert_eq!(
            t.to_rfc3339(),
            "2026-12-07T22:50:00+00:00",
            "yesterday's 23:50"
        );
        let t = ClockTime::parse("00:05")
            .expect("time")
            .resolve(now, berlin);
        assert_eq!(t.to_rfc3339(), "2026-12-07T23:05:00+00:00");
        assert_eq!(
            ClockTime::parse("now").map(|c| c.resolve(now, berlin)),
            Some(now)
        );
        assert_eq!(ClockTime::parse("24:00"), None);
        assert_eq!(ClockTime::parse("9:5"), None);
    }
}
