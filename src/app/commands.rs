//! The `/inc` slash command: parse, then answer from the database (help, list, status, roles,
//! follow-ups), open a modal, declare, or change the incident of the channel it was typed in —
//! always within the ack. A rejected command changes nothing and says why.

use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use super::steps;
use super::{Shared, changes, modals};
use crate::domain::cause::{Cause, IncidentRef, Part};
use crate::domain::change::{Change, Original};
use crate::domain::command::{self, AnywhereCommand, Command, Grammar, InChannelCommand};
use crate::domain::modal::{self, DeclarePrefill};
use crate::domain::severity::DEFAULT_LEVELS;
use crate::domain::{Incident, NewIncident, Severity, message};
use crate::slack::{Ack, SlashCommand};
use crate::store::{Declaration, Declared, StoreError};

/// The same person declaring the same title at the same severity within this window is treated
/// as a retry of their first declaration.
pub(crate) const RETRY_WINDOW: Duration = Duration::from_secs(120);

pub(crate) const GRAMMAR: Grammar = Grammar {
    levels: DEFAULT_LEVELS,
};

pub(crate) async fn handle(shared: &Arc<Shared>, cmd: &SlashCommand) -> Result<Ack, StoreError> {
    let parsed = match command::parse(&cmd.text, &GRAMMAR) {
        Ok(parsed) => parsed,
        Err(e) => return Ok(Ack::ephemeral(e.to_string())),
    };
    match parsed.command {
        Command::Anywhere(command) => anywhere(shared, cmd, command).await,
        Command::InChannel(command) => {
            match shared.store.incident_by_channel(&cmd.channel_id).await? {
                Some(incident) => in_channel(shared, cmd, incident, command).await,
                None => not_in_incident_channel(shared, cmd, parsed.spec.name()).await,
            }
        }
    }
}

/// A command that works anywhere.
async fn anywhere(
    shared: &Arc<Shared>,
    cmd: &SlashCommand,
    command: AnywhereCommand,
) -> Result<Ack, StoreError> {
    match command {
        AnywhereCommand::Help => Ok(Ack::ephemeral(command::help())),
        AnywhereCommand::List => {
            let open = shared.store.open_incidents_in(&shared.ws.id).await?;
            let participating = shared.store.participating(&cmd.user_id).await?;
            Ok(Ack::ephemeral(message::incident_list(
                &open,
                &cmd.user_id,
                &participating,
            )))
        }
        AnywhereCommand::Declare {
            severity,
            triage,
            title,
            drill,
        } => declare(shared, cmd, severity, triage, &title, drill, false).await,
        AnywhereCommand::Adopt {
            severity,
            triage,
            title,
            drill,
        } => declare(shared, cmd, severity, triage, &title, drill, true).await,
        AnywhereCommand::Stats { days } => super::stats::reply(shared, &cmd.user_id, days).await,
        AnywhereCommand::Config(asked) => super::settings::reply(shared, &cmd.user_id, asked).await,
        AnywhereCommand::DeclareModal { title, drill } => {
            let grouped = shared.ws.config.coordinator_group.is_some();
            let mut prefill = DeclarePrefill::from_command(&cmd.user_id, title, grouped);
            prefill.drill = drill;
            prefill.response_url = Some(cmd.response_url.clone());
            prefill.services = services(shared);
            prefill.affected = affected_services(shared);
            let form = modal::declare_modal(&prefill, GRAMMAR.levels);
            let url = Some(cmd.response_url.clone());
            modals::open(shared, cmd.trigger_id.clone(), form, url);
            Ok(Ack::Empty)
        }
    }
}

/// An in-channel command typed elsewhere: where to use it — the person's own open incidents
/// first (declared or holding a role), then by severity.
async fn not_in_incident_channel(
    shared: &Shared,
    cmd: &SlashCommand,
    name: &str,
) -> Result<Ack, StoreError> {
    let open = shared.store.open_incidents_in(&shared.ws.id).await?;
    let participating = shared.store.participating(&cmd.user_id).await?;
    let mut suggested: Vec<&Incident> = open
        .iter()
        .filter(|i| i.visible_to(&cmd.user_id, participating.contains(&i.id)))
        .collect();
    suggested.sort_by_key(|i| {
        let involved =
            i.declared_by == cmd.user_id || i.roles.iter().any(|(_, u)| *u == cmd.user_id);
        (!involved, i.severity, i.number)
    });
    Ok(Ack::ephemeral(message::not_in_incident_channel(
        name, &suggested,
    )))
}

/// A command typed in `incident`'s channel.
async fn in_channel(
    shared: &Arc<Shared>,
    cmd: &SlashCommand,
    incident: Incident,
    command: InChannelCommand,
) -> Result<Ack, StoreError> {
    let text = match command {
        InChannelCommand::Status => {
            let due = shared.ws.config.reminders.update_due(&incident);
            message::status_card(&incident, due, shared.clock.now())
        }
        InChannelCommand::Roles => message::roles_list(&incident),
        InChannelCommand::FollowUps => {
            let timeline = shared.store.timeline(incident.id).await?;
            let buttons = shared
                .outside
                .tracker
                .as_ref()
                .and_then(|_| message::followups_with_buttons(&incident, &timeline));
            match buttons {
                Some(reply) => return Ok(Ack::EphemeralMessage(reply)),
                None => message::followups_list(&incident, &timeline),
            }
        }
        InChannelCommand::UpdateModal => {
            let url = Some(cmd.response_url.clone());
            let form = modal::update_modal(&incident);
            modals::open(shared, cmd.trigger_id.clone(), form, url);
            return Ok(Ack::Empty);
        }
        InChannelCommand::Postmortem => {
            let key = Cause::Slash(cmd.trigger_id.clone());
            let url = Some(cmd.response_url.clone());
            steps::request_postmortem(shared, &incident, &key, &cmd.user_id, url).await?
        }
        InChannelCommand::StatuspageModal => {
            if shared.outside.statuspage.is_none() {
                message::statuspage_off()
            } else {
                let url = Some(cmd.response_url.clone());
                modals::open_statuspage(shared, cmd.trigger_id.clone(), incident, false, url);
                return Ok(Ack::Empty);
            }
        }
        InChannelCommand::Change(Change::Page { service, .. }) if !pageable(shared, &service) => {
            message::not_a_service(
                &service,
                &shared
                    .settings
                    .integrations
                    .pagerduty
                    .as_ref()
                    .map(|pd| pd.names())
                    .unwrap_or_default(),
            )
        }
        InChannelCommand::Duplicate { number } => {
            match shared
                .store
                .incident_by_number(&shared.ws.id, number)
                .await?
            {
                None => format!("There is no *INC-{number}*; nothing was changed."),
                // A public incident's channel and announcement never name a private one.
                Some(original) if original.private && !incident.private => format!(
                    "*INC-{number}* is private: a public incident cannot be closed as its \
                     duplicate. Nothing was changed."
                ),
                Some(original) => {
                    let change = Change::Duplicate(Original {
                        id: original.id,
                        reference: original.reference(),
                        channel: original.channel_id,
                    });
                    let key = Cause::Slash(cmd.trigger_id.clone());
                    changes::apply(shared, incident, &[change], &cmd.user_id, &key, &[])
                        .await?
                        .text()
                }
            }
        }
        InChannelCommand::Change(change) => {
            let key = Cause::Slash(cmd.trigger_id.clone());
            let applied =
                changes::apply(shared, incident, &[change], &cmd.user_id, &key, &[]).await?;
            applied.text()
        }
    };
    Ok(Ack::ephemeral(text))
}

/// The PagerDuty services the Declare modal offers to page.
pub(crate) fn services(shared: &Shared) -> Vec<String> {
    shared
        .settings
        .integrations
        .pagerduty
        .as_ref()
        .map(|pd| pd.names())
        .unwrap_or_default()
}

/// The services the Declare modal offers as affected: PagerDuty's and those the rules name
/// (`labels = { service = … }`), in that order, each once.
pub(crate) fn affected_services(shared: &Shared) -> Vec<String> {
    let mut names = services(shared);
    for rule in &shared.settings.integrations.rules.rules {
        for name in rule.when.labels.get("service").into_iter().flatten() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

/// Whether `/inc page <service>` can page it: PagerDuty is configured and lists the service.
fn pageable(shared: &Shared, service: &str) -> bool {
    shared
        .settings
        .integrations
        .pagerduty
        .as_ref()
        .is_some_and(|pd| pd.routing_key(service).is_some())
}

/// `/inc declare <sev> …`, and `/inc adopt` (`adopt`): a declaration whose channel is the one
/// it was typed in — never an incident's channel already, never the announce channel.
async fn declare(
    shared: &Shared,
    cmd: &SlashCommand,
    severity: Severity,
    triage: bool,
    title: &str,
    drill: bool,
    adopt: bool,
) -> Result<Ack, StoreError> {
    if adopt {
        if let Some(existing) = shared.store.incident_by_channel(&cmd.channel_id).await? {
            return Ok(Ack::ephemeral(format!(
                "This channel is *{}*'s already; nothing was declared.",
                existing.reference()
            )));
        }
        if shared.ws.announce_channel.as_deref() == Some(cmd.channel_id.as_str()) {
            return Ok(Ack::ephemeral(
                "This is the announce channel: it cannot be an incident's channel. Nothing was declared.",
            ));
        }
    }
    let now = shared.clock.now();
    let grouped = shared.ws.config.coordinator_group.is_some();
    let mut incident =
        NewIncident::from_fast_path(&cmd.user_id, severity, triage, title, grouped, now);
    incident.drill = drill;
    let key = Cause::Slash(cmd.trigger_id.clone());
    let url = Some(cmd.response_url.clone());
    let channel = adopt.then(|| cmd.channel_id.clone());
    let reply = match declare_new(shared, key, incident, url, &[], channel).await? {
        Declared::New(incident) if adopt => message::adopted_reply(&incident),
        Declared::New(incident) => message::declared_reply(&incident),
        Declared::Existing(incident) => message::already_declared_reply(&incident),
    };
    Ok(Ack::ephemeral(reply))
}

/// Records a declaration under idempotency `key` with its first job; the channel and everything
/// after it are the saga's (`steps`). `response_url` is where to say so if the channel fails.
/// `pages` are the PagerDuty services to page from the start (the modal's "Page on-call");
/// `adopt` the existing channel to make the incident's (`/inc adopt`).
pub(crate) async fn declare_new(
    shared: &Shared,
    key: Cause,
    incident: NewIncident,
    response_url: Option<String>,
    pages: &[String],
    adopt: Option<String>,
) -> Result<Declared, StoreError> {
    let now = shared.clock.now();
    let mut jobs = steps::opening_jobs(
        &shared.settings,
        &shared.ws.config.reminders,
        &incident,
        &key,
        response_url,
        adopt,
        now,
    );
    for (i, service) in pages.iter().enumerate() {
        // A drill pages nobody.
        if incident.drill || !pageable(shared, service) {
            continue;
        }
        let step = steps::Step::Page {
            service: service.clone(),
            message: None,
            announce_by: Some(incident.declared_by.clone()),
            rule: None,
        };
        jobs.push(step.job(IncidentRef::New, &key.part(Part::Also(i)), now));
    }
    let declaration = Declaration {
        workspace: shared.ws.id.clone(),
        jobs,
        key,
        incident,
        duplicate_window: RETRY_WINDOW,
    };
    let declared = shared.store.declare(declaration, now).await?;
    match &declared {
        Declared::New(incident) => {
            shared.wake.notify_one();
            info!(incident.number = incident.number, severity = %incident.severity, "declared");
        }
        Declared::Existing(incident) => info!(
            incident.number = incident.number,
            "repeated declaration answered with the existing incident"
        ),
    }
    Ok(declared)
}
