//! Recording a release after an apply: which applies make one, the record built from the
//! desired graph and the executor's outputs, and writing it (record, then tags).

use base64::Engine;

use super::aws_targets::ReleaseTargets;
use super::{ApiRelease, FunctionRelease, Release, ReleaseError, ReleaseStore, next_number};
use crate::config::Config;
use crate::engine::ApplyOutcome;
use crate::engine::executor::ApplyReport;
use crate::plan::Plan;
use crate::spec::{CheckedGraph, OutputKey, ResourceId, ResourceKind, SpecBody};
use crate::stack::Handler;
use crate::stack::api::{API, rest_api_id, stage_id};

/// The kinds whose change is a release: what callers reach (code, alias, routes, stage).
const RELEASE_KINDS: [ResourceKind; 4] = [
    ResourceKind::Function,
    ResourceKind::LambdaAlias,
    ResourceKind::ApiDeployment,
    ResourceKind::ApiStage,
];

/// Whether applying `plan` changes the functions or the API, and so makes a release.
pub fn makes_a_release(plan: &Plan) -> bool {
    plan.changes
        .iter()
        .any(|c| c.action.mutates() && RELEASE_KINDS.contains(&c.id.kind()))
}

fn output(report: &ApplyReport, id: &ResourceId, key: OutputKey) -> Result<String, ReleaseError> {
    report
        .outputs
        .get(id)
        .and_then(|o| o.get(&key))
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| ReleaseError::Incomplete(format!("`{id}` has no {key} after the apply")))
}

fn spec_name(graph: &CheckedGraph, id: &ResourceId) -> Result<String, ReleaseError> {
    graph
        .get(id)
        .map(|s| s.physical_name.clone())
        .ok_or_else(|| ReleaseError::Incomplete(format!("the stack has no `{id}`")))
}

/// The release a succeeded apply of `graph` (built from `config`) made live, numbered
/// `number`. After a successful apply what is live is what the graph describes, with the
/// versions and ids the executor reported.
pub fn release_of(
    config: &Config,
    graph: &CheckedGraph,
    report: &ApplyReport,
    number: u64,
    created_at: String,
) -> Result<Release, ReleaseError> {
    if report.outcome != ApplyOutcome::Succeeded {
        return Err(ReleaseError::Incomplete(format!(
            "apply {} did not succeed",
            report.apply_id
        )));
    }
    let mut functions = Vec::new();
    let mut bundle_code_sha = String::new();
    for handler in Handler::ALL {
        let id = handler.function_id();
        let Some(SpecBody::Function(function)) = graph.get(&id).map(|s| &s.body) else {
            return Err(ReleaseError::Incomplete(format!("the stack has no `{id}`")));
        };
        let version = output(report, &id, OutputKey::Version)?;
        let alias_name = spec_name(graph, &handler.alias_id())?;
        bundle_code_sha.clone_from(&function.code_sha256);
        functions.push(FunctionRelease {
            logical: handler.logical().to_owned(),
            name: spec_name(graph, &id)?,
            alias_version: version.clone(),
            version,
            code_sha256: function.code_sha256.clone(),
            alias: alias_name
                .rsplit_once(':')
                .map_or(crate::stack::LIVE_ALIAS, |(_, a)| a)
                .to_owned(),
        });
    }
    let deployment = ResourceId::new(ResourceKind::ApiDeployment, API);
    let Some(SpecBody::ApiDeployment(api_deployment)) = graph.get(&deployment).map(|s| &s.body)
    else {
        return Err(ReleaseError::Incomplete(format!(
            "the stack has no `{deployment}`"
        )));
    };
    let config_toml = toml::to_string(config).map_err(|e| ReleaseError::Corrupt {
        what: "the config snapshot".into(),
        reason: e.to_string(),
    })?;
    Ok(Release {
        number,
        created_at,
        stack: config.stack_name(),
        apply_id: report.apply_id.clone(),
        bundle_sha256: hex_of_base64(&bundle_code_sha),
        functions,
        api: ApiRelease {
            rest_api_id: output(report, &rest_api_id(), OutputKey::Id)?,
            deployment_id: output(report, &deployment, OutputKey::Id)?,
            definition_sha256: api_deployment.definition_sha256.clone(),
            stage: spec_name(graph, &stage_id())?,
        },
        config_toml,
    })
}

/// Lambda's base64 `CodeSha256` as lower-case hex (the form `sha256sum` prints).
fn hex_of_base64(code_sha256: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(code_sha256)
        .map(|bytes| bytes.iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_else(|_| code_sha256.to_owned())
}

/// Records the release `report`'s apply made: the record first (it is what rollback
/// reads), then each function's `txdeploy:release` tag. Returns `None` when `plan` changed
/// neither functions nor API.
pub async fn record(
    store: &dyn ReleaseStore,
    targets: &dyn ReleaseTargets,
    config: &Config,
    graph: &CheckedGraph,
    plan: &Plan,
    report: &ApplyReport,
) -> Result<Option<Release>, ReleaseError> {
    if !makes_a_release(plan) {
        return Ok(None);
    }
    let number = next_number(store).await?;
    let release = release_of(
        config,
        graph,
        report,
        number,
        crate::state::journal::now_rfc3339(),
    )?;
    store.put(&release).await?;
    for handler in Handler::ALL {
        let arn = output(report, &handler.function_id(), OutputKey::Arn)?;
        targets.tag_release(&arn, number).await?;
    }
    Ok(Some(release))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_sha_is_shown_as_hex() {
        // sha256 of the empty string.
        assert_eq!(
            hex_of_base64("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
