//! Why a change was refused: [`Refusal`], whose `Display` is the ephemeral reply. A refused
//! change changes nothing.

use std::fmt;

use crate::domain::{Role, Status, UserId, mrkdwn};

/// Why a change was refused. `Display` is the ephemeral reply; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The incident is resolved or declined; `what` cannot happen until it is reopened.
    Closed {
        reference: String,
        status: Status,
        what: &'static str,
    },
    /// The status cannot move there.
    Transition {
        reference: String,
        from: Status,
        to: Status,
    },
    /// Only the coordinator, the operator or an admin may do `what`.
    NotPermitted {
        reference: String,
        what: &'static str,
        coordinator: Option<UserId>,
        operator: Option<UserId>,
    },
    /// Only a resolved or declined incident can be reopened.
    NotClosed { reference: String, status: Status },
    /// It is already so.
    Unchanged(String),
    /// Somebody else took the role first.
    Taken {
        reference: String,
        role: Role,
        holder: UserId,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Closed {
                reference,
                status,
                what,
            } => write!(
                f,
                "*{reference}* is {status}, so you cannot {what}. `/inc reopen` it first."
            ),
            Refusal::Transition {
                reference,
                from,
                to,
            } => {
                let why = match (from, to) {
                    (_, Status::Declined) => "only an incident still in `triage` can be declined",
                    (_, Status::Triage) => "`triage` is only where an incident starts",
                    (Status::Resolved | Status::Declined, _) => "`/inc reopen` it first",
                    (_, Status::Investigating) => {
                        "only a resolved or declined incident can be reopened"
                    }
                    _ => "that is where it is already",
                };
                write!(
                    f,
                    "*{reference}* is `{from}` and cannot become `{to}`: {why}."
                )
            }
            Refusal::NotPermitted {
                reference,
                what,
                coordinator,
                operator,
            } => {
                let holders: Vec<String> = [("coordinator", coordinator), ("operator", operator)]
                    .into_iter()
                    .filter_map(|(role, user)| {
                        user.as_ref()
                            .map(|u| format!("the {role} ({})", mrkdwn::user(u)))
                    })
                    .collect();
                if holders.is_empty() {
                    write!(
                        f,
                        "Only the coordinator, the operator or an admin may {what} *{reference}*, \
                         and nobody holds those roles: take one first with `/inc coordinator me`."
                    )
                } else {
                    write!(
                        f,
                        "Only {} or an admin may {what} *{reference}*.",
                        holders.join(", ")
                    )
                }
            }
            Refusal::NotClosed { reference, status } => write!(
                f,
                "*{reference}* is open (`{status}`); only a resolved or declined incident can be reopened."
            ),
            Refusal::Unchanged(text) => f.write_str(text),
            Refusal::Taken {
                reference,
                role,
                holder,
            } => write!(
                f,
                "{} took the {role} role for *{reference}* first. If they stop answering, take over with `/inc {role} me` in its channel.",
                mrkdwn::user(holder)
            ),
        }
    }
}
