//! The integration tests: one binary, driving the real `App` through the Slack simulator on
//! 127.0.0.1 with a real database — SQLite by default, PostgreSQL when `TEST_DATABASE_URL` is set
//! (`.ci/run` runs the suite both ways).

mod aftercare;
mod alerts;
mod architecture;
mod commands;
mod declare;
mod demo;
mod events;
mod helpers;
mod http;
mod http_transport;
mod incident_channel;
mod installations;
mod lost_answers;
mod manifest;
mod modals;
mod pagerduty;
mod postmortem;
mod postmortem_golden;
mod refusals;
mod reminders;
mod replicas;
mod rules;
mod slack_text;
mod socket_mode;
mod startup;
mod stats;
mod statuspage;
mod store_contract;
mod tickets;
mod trackers;
mod upgrade;
mod webhooks;
mod workspaces;
