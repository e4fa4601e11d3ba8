//! `Canary`: one canary window over AWS: polls the watched alarms with the alarm poller's
//! `fetch_alarms`, then promotes or rolls back every alias in the canary.

use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use super::canary_event::{CanaryAlias, CanaryEvent, PromoteTrigger, RollbackCause};
use super::canary_policy::CanaryPolicy;
use super::canary_watch::CanaryWatch;
use crate::adapters::AwsClients;
use crate::adapters::lambda_alias_adapter::{function_and_alias, route, routing};
use crate::cloud::CloudError;
use crate::monitor::alarm_poller::fetch_alarms;

/// What the user can ask during the window (TUI keys, Ctrl-C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CanaryCommand {
    /// Promote now without waiting for the rest of the window (`p`).
    PromoteNow,
    /// Roll back now (`a`).
    Abort,
    /// Ctrl-C: roll back (the safe default) and exit 130.
    Interrupt,
}

/// How a canary ended when every alias call succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CanaryOutcome {
    Promoted(PromoteTrigger),
    RolledBack(RollbackCause),
}

/// A canary whose final alias calls failed: some aliases may still route to both versions.
#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    #[error(
        "promoting the canary failed on `{alias}`: {error}; it (and any alias after it) still \
         routes part of its traffic to the new version: run `txdeploy apply` again without \
         `--canary` to release fully, or `txdeploy rollback`"
    )]
    Promote { alias: String, error: CloudError },
    #[error(
        "rolling back the canary ({cause}) failed on `{alias}`: {error}; it still routes part \
         of its traffic to the new version: run `txdeploy rollback`, or move the alias by \
         hand with `aws lambda update-alias --routing-config '{{}}'`"
    )]
    Rollback {
        cause: String,
        alias: String,
        error: CloudError,
    },
}

/// The aliases in a canary, the alarms it watches, and how it polls.
pub struct Canary {
    clients: AwsClients,
    alarm_prefix: String,
    aliases: Vec<CanaryAlias>,
    watch: CanaryWatch,
    policy: CanaryPolicy,
    interval: Duration,
}

impl Canary {
    /// Reads each alias the apply moved (`function:alias`); those routing weight to another
    /// version are in the canary. `None` when there are none (the apply moved no alias, or
    /// created it: a new alias has no old version to keep).
    pub async fn discover(
        clients: AwsClients,
        moved_aliases: &[String],
        watched_alarms: Vec<String>,
        alarm_prefix: String,
        policy: CanaryPolicy,
        interval: Duration,
    ) -> Result<Option<Self>, CloudError> {
        let mut aliases = Vec::new();
        for physical in moved_aliases {
            let (function, alias) = function_and_alias(physical)?;
            let read = routing(&clients, function, alias).await?;
            if let Some((canary_version, _)) = read.weights.first() {
                aliases.push(CanaryAlias {
                    function: function.to_owned(),
                    alias: alias.to_owned(),
                    stable_version: read.primary,
                    canary_version: canary_version.clone(),
                });
            }
        }
        if aliases.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            clients,
            alarm_prefix,
            aliases,
            watch: CanaryWatch::new(watched_alarms),
            policy,
            interval,
        }))
    }

    pub fn aliases(&self) -> &[CanaryAlias] {
        &self.aliases
    }

    /// Runs the window: polls every `interval` until it has passed (then promotes), a
    /// watched alarm is in ALARM (then rolls back) or a command arrives. Every phase is
    /// sent to `events`.
    pub async fn run(
        mut self,
        events: &UnboundedSender<CanaryEvent>,
        commands: &mut UnboundedReceiver<CanaryCommand>,
    ) -> Result<CanaryOutcome, CanaryError> {
        let started = Instant::now();
        let deadline = started + self.policy.window;
        let emit = |event: CanaryEvent| {
            // The listener may have gone (a closed TUI); the window still ends properly.
            let _ = events.send(event);
        };
        emit(CanaryEvent::CanaryStarted {
            weight_percent: self.policy.weight_percent,
            window_ms: millis(self.policy.window),
            aliases: self.aliases.clone(),
            alarms: self.watch.names(),
        });
        let mut commands_open = true;
        let decision = loop {
            let polled = fetch_alarms(&self.clients.cloudwatch, &self.alarm_prefix).await;
            let now = Instant::now();
            let remaining_ms = millis(deadline.saturating_duration_since(now));
            match polled {
                Ok(alarms) => {
                    let verdict = self.watch.observe(&alarms);
                    for change in verdict.changes {
                        emit(CanaryEvent::CanaryAlarm {
                            alarm: change.alarm,
                            state: change.state,
                            reason: change.reason,
                            remaining_ms,
                        });
                    }
                    if let Some((alarm, reason)) = verdict.firing {
                        break CanaryOutcome::RolledBack(RollbackCause::Alarm { alarm, reason });
                    }
                    if now >= deadline {
                        break CanaryOutcome::Promoted(PromoteTrigger::WindowPassed);
                    }
                }
                Err(error) => {
                    if now >= deadline {
                        break CanaryOutcome::RolledBack(RollbackCause::Unverified {
                            error: error.to_string(),
                        });
                    }
                    emit(CanaryEvent::CanaryPollFailed {
                        error: error.to_string(),
                        remaining_ms,
                    });
                }
            }
            // The last poll happens at the deadline itself, so the whole window is watched.
            let next = (now + self.interval).min(deadline);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                command = commands.recv(), if commands_open => match command {
                    Some(CanaryCommand::PromoteNow) => {
                        break CanaryOutcome::Promoted(PromoteTrigger::Manual);
                    }
                    Some(CanaryCommand::Abort) => {
                        break CanaryOutcome::RolledBack(RollbackCause::Aborted);
                    }
                    Some(CanaryCommand::Interrupt) => {
                        break CanaryOutcome::RolledBack(RollbackCause::Interrupted);
                    }
                    None => commands_open = false,
                },
            }
        };
        let elapsed_ms = millis(started.elapsed());
        match decision {
            CanaryOutcome::Promoted(trigger) => {
                self.promote().await?;
                emit(CanaryEvent::CanaryPromoted {
                    trigger,
                    elapsed_ms,
                });
                Ok(CanaryOutcome::Promoted(trigger))
            }
            CanaryOutcome::RolledBack(cause) => {
                self.roll_back(&cause).await?;
                emit(CanaryEvent::CanaryRolledBack {
                    cause: cause.clone(),
                    elapsed_ms,
                });
                Ok(CanaryOutcome::RolledBack(cause))
            }
        }
    }

    /// Every alias to its new version, routing cleared.
    async fn promote(&self) -> Result<(), CanaryError> {
        for a in &self.aliases {
            route(
                &self.clients,
                &a.function,
                &a.alias,
                &a.canary_version,
                None,
            )
            .await
            .map_err(|error| CanaryError::Promote {
                alias: format!("{}:{}", a.function, a.alias),
                error,
            })?;
        }
        Ok(())
    }

    /// Every alias back to its old version only. Tries every alias even after one fails,
    /// so as little traffic as possible stays on the new version; reports the first failure.
    async fn roll_back(&self, cause: &RollbackCause) -> Result<(), CanaryError> {
        let mut first_error = None;
        for a in &self.aliases {
            if let Err(error) = route(
                &self.clients,
                &a.function,
                &a.alias,
                &a.stable_version,
                None,
            )
            .await
            {
                first_error.get_or_insert(CanaryError::Rollback {
                    cause: cause.describe(),
                    alias: format!("{}:{}", a.function, a.alias),
                    error,
                });
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
