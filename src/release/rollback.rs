//! Rollback to a release: move the `live` aliases back, move the stage to the release's
//! deployment when it differs, flush the stage cache, then read everything back.
//!
//! A small dedicated runner rather than the executor: the stage and alias specs reference
//! other nodes' outputs (typed `OutputRef`s), so a plan of five updates would need the
//! whole graph around it. The moves go through the same `Cloud` adapters the executor
//! calls, with the release's versions and deployment given as those outputs, and every call
//! is retried by the shared `with_retry` / `RetryPolicy` on its `ErrorClass`. Nothing
//! data-bearing is ever touched: only aliases, the stage's deployment and its cache.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value as Json;

use super::Release;
use super::aws_targets::ReleaseTargets;
use crate::cloud::{Cloud, CloudError, Observed, StepContext};
use crate::engine::observer::with_retry;
use crate::engine::retry_policy::RetryPolicy;
use crate::spec::{CheckedGraph, Environment, OutputKey, Outputs, ResourceId, ResourceKind, field};
use crate::stack::Handler;
use crate::stack::api::{API, stage_id};

/// What one step of a rollback did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// Pointed at the release's version or deployment.
    Moved,
    /// Already where the release wants it: no call made.
    Unchanged,
    /// The stage cache was emptied.
    Flushed,
    /// The endpoint has no FlushStageCache (an emulator); AWS always has it.
    FlushUnsupported,
    /// Read back and found as the release says.
    Verified,
}

/// One line of the rollback's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RollbackStep {
    /// The alias (`function:live`) or the stage (`stage {name}`).
    pub target: String,
    pub action: StepAction,
    /// From and to, or what was read back.
    pub detail: String,
}

/// What a finished rollback did.
#[derive(Clone, Debug, Serialize)]
pub struct RollbackReport {
    pub to: u64,
    pub steps: Vec<RollbackStep>,
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

impl RollbackReport {
    /// How many aliases and stages actually moved.
    pub fn moved(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.action == StepAction::Moved)
            .count()
    }
}

/// Why a rollback stopped.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error(
        "release {release} can no longer be restored: {} no longer exist(s); nothing was changed. \
         Pick another release from `txdeploy releases`, or deploy that state again with \
         `txdeploy apply` using its config snapshot",
        .missing.join(", ")
    )]
    Gone { release: u64, missing: Vec<String> },
    #[error(
        "release {release} does not match this stack: {reason}; run the rollback with the \
         config of the stack that recorded it"
    )]
    NotThisStack { release: u64, reason: String },
    #[error(
        "{step} failed: {error}; steps before it took effect (see above): run the rollback again"
    )]
    Step {
        step: String,
        error: Box<CloudError>,
    },
    #[error(
        "{target} reads back as {found} instead of {expected} after the rollback: something \
         else changed it meanwhile; run `txdeploy status`, then the rollback again"
    )]
    Verify {
        target: String,
        expected: String,
        found: String,
    },
}

/// The alias of one function, as the stack and the release name it.
struct AliasMove<'a> {
    handler: Handler,
    spec: &'a crate::spec::ResourceSpec,
    version: &'a str,
    function: &'a str,
}

fn field_str(observed: &Observed, name: &str) -> String {
    match observed.fields.get(name) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn step_error(step: impl Into<String>) -> impl FnOnce(CloudError) -> RollbackError {
    let step = step.into();
    move |error| RollbackError::Step {
        step,
        error: Box::new(error),
    }
}

/// Rolls the stack back to `target`; `on_step` hears each step as it happens.
pub async fn roll_back(
    cloud: &dyn Cloud,
    targets: &dyn ReleaseTargets,
    graph: &CheckedGraph,
    env: &Environment,
    target: &Release,
    on_step: &mut (dyn FnMut(&RollbackStep) + Send),
) -> Result<RollbackReport, RollbackError> {
    let started = Instant::now();
    let policy = RetryPolicy::default();
    let mut steps = Vec::new();
    let mut emit = |step: RollbackStep, steps: &mut Vec<RollbackStep>| {
        on_step(&step);
        steps.push(step);
    };
    let moves = alias_moves(graph, target)?;
    let stage_spec = graph
        .get(&stage_id())
        .ok_or_else(|| RollbackError::NotThisStack {
            release: target.number,
            reason: "the stack has no API stage".into(),
        })?;

    // Read what is live, and check that everything the release points at still exists
    // before changing anything: a rollback that stops halfway serves a mix of releases.
    let mut current = Vec::new();
    let mut missing = Vec::new();
    for m in &moves {
        let observed = with_retry(&policy, || cloud.observe(m.spec, env))
            .await
            .map_err(step_error(format!("reading `{}`", m.spec.physical_name)))?
            .ok_or_else(|| RollbackError::NotThisStack {
                release: target.number,
                reason: format!("alias `{}` does not exist", m.spec.physical_name),
            })?;
        let live = field_str(&observed, field::FUNCTION_VERSION);
        if live != m.version
            && !with_retry(&policy, || targets.version_exists(m.function, m.version))
                .await
                .map_err(step_error(format!(
                    "reading `{}:{}`",
                    m.function, m.version
                )))?
        {
            missing.push(format!("version {} of `{}`", m.version, m.function));
        }
        current.push((observed, live));
    }
    let stage = with_retry(&policy, || cloud.observe(stage_spec, env))
        .await
        .map_err(step_error(format!(
            "reading stage `{}`",
            stage_spec.physical_name
        )))?
        .ok_or_else(|| RollbackError::NotThisStack {
            release: target.number,
            reason: format!("stage `{}` does not exist", stage_spec.physical_name),
        })?;
    let live_api = field_str(&stage, field::REST_API_ID);
    let live_deployment = field_str(&stage, field::DEPLOYMENT_ID);
    let want = &target.api;
    if live_api != want.rest_api_id {
        missing.push(format!(
            "REST API `{}` (the stage now belongs to `{live_api}`)",
            want.rest_api_id
        ));
    } else if live_deployment != want.deployment_id
        && !with_retry(&policy, || {
            targets.deployment_exists(&want.rest_api_id, &want.deployment_id)
        })
        .await
        .map_err(step_error(format!(
            "reading deployment `{}`",
            want.deployment_id
        )))?
    {
        missing.push(format!(
            "deployment `{}` of REST API `{}`",
            want.deployment_id, want.rest_api_id
        ));
    }
    if !missing.is_empty() {
        return Err(RollbackError::Gone {
            release: target.number,
            missing,
        });
    }

    // Move the aliases, each through the alias adapter with the release's version given as
    // the function's output.
    for (m, (observed, live)) in moves.iter().zip(&current) {
        let name = m.spec.physical_name.clone();
        if live == m.version {
            emit(
                RollbackStep {
                    target: name,
                    action: StepAction::Unchanged,
                    detail: format!("already at version {live}"),
                },
                &mut steps,
            );
            continue;
        }
        let outputs = BTreeMap::from([(
            m.handler.function_id(),
            Outputs::from([
                (OutputKey::Name, m.function.to_owned()),
                (OutputKey::Version, m.version.to_owned()),
            ]),
        )]);
        let changed = [field::FUNCTION_VERSION.to_owned()];
        with_retry(&policy, || {
            let ctx = StepContext::quiet(env.clone(), outputs.clone());
            let changed = &changed;
            async move { cloud.update(m.spec, observed, changed, &ctx).await }
        })
        .await
        .map_err(step_error(format!(
            "moving `{name}` to version {}",
            m.version
        )))?;
        emit(
            RollbackStep {
                target: name,
                action: StepAction::Moved,
                detail: format!("version {live} -> {}", m.version),
            },
            &mut steps,
        );
    }

    // The stage, only when it serves another deployment: moving it to the same one would
    // still count as a stage update in CloudTrail and reset nothing.
    let stage_name = format!("stage `{}`", stage_spec.physical_name);
    if live_deployment == want.deployment_id {
        emit(
            RollbackStep {
                target: stage_name.clone(),
                action: StepAction::Unchanged,
                detail: format!("already serves deployment {live_deployment}"),
            },
            &mut steps,
        );
    } else {
        let deployment = ResourceId::new(ResourceKind::ApiDeployment, API);
        let outputs = BTreeMap::from([(
            deployment,
            Outputs::from([(OutputKey::Id, want.deployment_id.clone())]),
        )]);
        let changed = [field::DEPLOYMENT_ID.to_owned()];
        with_retry(&policy, || {
            let ctx = StepContext::quiet(env.clone(), outputs.clone());
            let changed = &changed;
            let stage = &stage;
            async move { cloud.update(stage_spec, stage, changed, &ctx).await }
        })
        .await
        .map_err(step_error(format!(
            "moving {stage_name} to deployment {}",
            want.deployment_id
        )))?;
        emit(
            RollbackStep {
                target: stage_name.clone(),
                action: StepAction::Moved,
                detail: format!("deployment {live_deployment} -> {}", want.deployment_id),
            },
            &mut steps,
        );
    }

    // Cached GETs would otherwise answer from the code rolled away from for up to the TTL.
    let flushed = with_retry(&policy, || {
        targets.flush_stage_cache(&want.rest_api_id, &stage_spec.physical_name)
    })
    .await
    .map_err(step_error(format!("flushing the cache of {stage_name}")))?;
    emit(
        RollbackStep {
            target: format!("{stage_name} cache"),
            action: if flushed {
                StepAction::Flushed
            } else {
                StepAction::FlushUnsupported
            },
            detail: if flushed {
                "emptied".to_owned()
            } else {
                "this endpoint does not implement FlushStageCache; AWS does".to_owned()
            },
        },
        &mut steps,
    );

    // Read everything back: the rollback is done only when AWS says so.
    for m in &moves {
        let observed = with_retry(&policy, || cloud.observe(m.spec, env))
            .await
            .map_err(step_error(format!(
                "reading `{}` back",
                m.spec.physical_name
            )))?;
        let found = observed.as_ref().map_or_else(
            || "missing".to_owned(),
            |o| field_str(o, field::FUNCTION_VERSION),
        );
        if found != m.version {
            return Err(RollbackError::Verify {
                target: m.spec.physical_name.clone(),
                expected: format!("version {}", m.version),
                found: format!("version {found}"),
            });
        }
        emit(
            RollbackStep {
                target: m.spec.physical_name.clone(),
                action: StepAction::Verified,
                detail: format!("version {found}"),
            },
            &mut steps,
        );
    }
    let stage_now = with_retry(&policy, || cloud.observe(stage_spec, env))
        .await
        .map_err(step_error(format!("reading {stage_name} back")))?;
    let found = stage_now.as_ref().map_or_else(
        || "missing".to_owned(),
        |s| field_str(s, field::DEPLOYMENT_ID),
    );
    if found != want.deployment_id {
        return Err(RollbackError::Verify {
            target: stage_name,
            expected: format!("deployment {}", want.deployment_id),
            found: format!("deployment {found}"),
        });
    }
    emit(
        RollbackStep {
            target: stage_name,
            action: StepAction::Verified,
            detail: format!("deployment {found}"),
        },
        &mut steps,
    );
    Ok(RollbackReport {
        to: target.number,
        steps,
        elapsed: started.elapsed(),
    })
}

/// The four alias moves, checking the release names the same functions as this stack.
fn alias_moves<'a>(
    graph: &'a CheckedGraph,
    target: &'a Release,
) -> Result<Vec<AliasMove<'a>>, RollbackError> {
    Handler::ALL
        .iter()
        .map(|&handler| {
            let not_this = |reason: String| RollbackError::NotThisStack {
                release: target.number,
                reason,
            };
            let spec = graph
                .get(&handler.alias_id())
                .ok_or_else(|| not_this(format!("the stack has no `{}`", handler.alias_id())))?;
            let function = target
                .functions
                .iter()
                .find(|f| f.logical == handler.logical())
                .ok_or_else(|| not_this(format!("it has no function `{}`", handler.logical())))?;
            let expected = format!("{}:{}", function.name, function.alias);
            if spec.physical_name != expected {
                return Err(not_this(format!(
                    "it names alias `{expected}`, this stack `{}`",
                    spec.physical_name
                )));
            }
            Ok(AliasMove {
                handler,
                spec,
                version: &function.alias_version,
                function: &function.name,
            })
        })
        .collect()
}

/// Function settings that belong to the function itself, not to a published version.
const FUNCTION_LEVEL_FIELDS: [&str; 2] = [field::RESERVED_CONCURRENCY, field::TAGS];

/// The part of a plan built from a release's config snapshot that the alias and stage moves
/// cannot undo. Left out: code and version-scoped function settings (memory, timeout,
/// environment and the rest are frozen in the published version the alias now points at),
/// alias targets, API deployments and the stage's deployment. A function keeps only its
/// reserved concurrency and tags; everything else (alarms, queues, stage settings, ...)
/// stays as planned.
pub fn beyond_aliases(mut plan: crate::plan::Plan) -> crate::plan::Plan {
    use crate::plan::Action;
    for change in &mut plan.changes {
        let keep: fn(&str) -> bool = match change.id.kind() {
            ResourceKind::LambdaAlias | ResourceKind::ApiDeployment => |_| false,
            ResourceKind::Function => |f| FUNCTION_LEVEL_FIELDS.contains(&f),
            ResourceKind::ApiStage => |f| f != field::DEPLOYMENT_ID,
            _ => continue,
        };
        if matches!(change.action, Action::NoOp) {
            continue;
        }
        change.diffs.retain(|d| keep(&d.field));
        if change.diffs.is_empty() {
            change.action = Action::NoOp;
            // A warning about the dropped diffs (an alias's split `routing`) no longer applies.
            change.warnings.clear();
        }
    }
    plan
}

/// What is live: the four aliases and the stage, read in parallel (through the same
/// adapters as observation, retried like it).
pub async fn live_state(
    cloud: &dyn Cloud,
    graph: &CheckedGraph,
    env: &Environment,
) -> Result<super::LiveState, CloudError> {
    let policy = RetryPolicy::default();
    let mut specs: Vec<&crate::spec::ResourceSpec> = Handler::ALL
        .iter()
        .filter_map(|h| graph.get(&h.alias_id()))
        .collect();
    specs.extend(graph.get(&stage_id()));
    let observed = futures::future::try_join_all(
        specs
            .iter()
            .map(|spec| with_retry(&policy, move || cloud.observe(spec, env))),
    )
    .await?;
    let mut live = super::LiveState::default();
    for (spec, observed) in specs.iter().zip(observed) {
        let Some(observed) = observed else { continue };
        if spec.id.kind() == ResourceKind::ApiStage {
            live.deployment_id = Some(field_str(&observed, field::DEPLOYMENT_ID));
        } else {
            live.aliases.insert(
                field_str(&observed, field::FUNCTION_NAME),
                field_str(&observed, field::FUNCTION_VERSION),
            );
        }
    }
    Ok(live)
}

/// The release `rollback` returns to: `--to N`, or else the newest release older than the
/// live one. The message of an `Err` says what to do instead.
pub fn choose_target<'a>(
    releases: &'a [Release],
    live: Option<&Release>,
    to: Option<u64>,
) -> Result<&'a Release, String> {
    let known = || {
        releases
            .iter()
            .map(|r| r.number.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (to, live) {
        (Some(n), _) => releases.iter().find(|r| r.number == n).ok_or_else(|| {
            format!(
                "there is no release {n}; the recorded releases are {}: pick one of them \
                 (`txdeploy releases` lists them)",
                known()
            )
        }),
        (None, Some(live)) => releases
            .iter()
            .rev()
            .find(|r| r.number < live.number)
            .ok_or_else(|| {
                format!(
                    "release {} is live and is the first one recorded: there is no earlier \
                     release to return to",
                    live.number
                )
            }),
        (None, None) => Err(format!(
            "what is live matches none of the recorded releases ({}), so there is no \
             \"previous\" one: pass `--to N` (`txdeploy releases` lists them)",
            known()
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::release::tests::sample;

    #[test]
    fn the_default_target_is_the_release_before_the_live_one() {
        let releases = [sample(1), sample(2), sample(4)];
        let pick = |live: Option<u64>, to: Option<u64>| {
            let live = live.and_then(|n| releases.iter().find(|r| r.number == n));
            choose_target(&releases, live, to).map(|r| r.number)
        };
        assert_eq!(pick(Some(4), None), Ok(2));
        assert_eq!(pick(Some(2), None), Ok(1));
        assert_eq!(pick(Some(4), Some(1)), Ok(1));
        assert_eq!(pick(None, Some(2)), Ok(2));
        assert!(
            pick(Some(1), None)
                .unwrap_err()
                .contains("no earlier release")
        );
        assert!(pick(None, None).unwrap_err().contains("pass `--to N`"));
        let err = pick(Some(4), Some(3)).unwrap_err();
        assert!(
            err.contains("there is no release 3") && err.contains("1, 2, 4"),
            "{err}"
        );
    }
}
