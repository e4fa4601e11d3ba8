//! Application Auto Scaling: the table's and every index's scalable targets
//! (Register/Describe/DeregisterScalableTarget) and their target-tracking policies
//! (Put/Describe/DeleteScalingPolicy).
//!
//! Both are found by service namespace, resource id and scalable dimension, which follow
//! from the table's name; never by tags (moto answers `ListTagsForResource` with HTTP 500,
//! and nothing here needs them to find an object).

use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalableTarget,
    ScalingPolicy, ServiceNamespace, TargetTrackingScalingPolicyConfiguration,
};
use serde_json::{Value as Json, json};

use super::aws_clients::AwsClients;
use super::sdk_error::{Classified, Found};
use super::{Members, resolved_field, resolved_i32, resolved_text, unknown_field};
use crate::cloud::{CloudError, Discovered, Observed, StepContext};
use crate::spec::{
    EnvFact, Environment, OutputKey, OutputRef, Outputs, Resolve, ResourceId, ResourceKind,
    ResourceSpec, ScalingPolicySpec, ScalingTargetSpec, Value, field,
};
use crate::stack::TABLE;
use crate::stack::data::scaling_logical;

const SERVICE: &str = "application-autoscaling";

/// Where a target or policy applies: what AWS identifies both by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalableId {
    pub namespace: String,
    pub resource_id: String,
    pub dimension: String,
}

impl ScalableId {
    /// The id a spec's values resolve to with `resolver` (a step's outputs, or the naming
    /// convention while observing).
    fn resolve(
        namespace: &str,
        resource_id: &Value,
        dimension: &str,
        resolver: &dyn Resolve,
        operation: &str,
    ) -> Result<Self, CloudError> {
        let resource_id = match resource_id.resolve(resolver) {
            Ok(Json::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(e) => return Err(CloudError::fatal(SERVICE, operation, e.to_string())),
        };
        Ok(Self {
            namespace: namespace.to_owned(),
            resource_id,
            dimension: dimension.to_owned(),
        })
    }

    /// The id recorded in an observation, for delete (which has no spec).
    fn of_observed(current: &Observed, operation: &str) -> Result<Self, CloudError> {
        let text = |name: &str| {
            current
                .fields
                .get(name)
                .and_then(Json::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    CloudError::fatal(
                        SERVICE,
                        operation,
                        format!("the observation has no `{name}`; this is a txdeploy bug"),
                    )
                })
        };
        Ok(Self {
            namespace: text(field::SERVICE_NAMESPACE)?,
            resource_id: text(field::RESOURCE_ID)?,
            dimension: text(field::SCALABLE_DIMENSION)?,
        })
    }

    fn namespace(&self) -> ServiceNamespace {
        ServiceNamespace::from(self.namespace.as_str())
    }

    fn dimension(&self) -> ScalableDimension {
        ScalableDimension::from(self.dimension.as_str())
    }

    fn fields(&self) -> [(&'static str, Json); 3] {
        [
            (field::SERVICE_NAMESPACE, json!(self.namespace)),
            (field::RESOURCE_ID, json!(self.resource_id)),
            (field::SCALABLE_DIMENSION, json!(self.dimension)),
        ]
    }
}

/// Resolves the table's `name` output while observing, when no step has produced outputs
/// yet: every resource of a stack is named `{prefix}-{env}-{logical}`, so the table's name
/// is this spec's prefix followed by the table's logical name.
struct SiblingNames<'a> {
    spec: &'a ResourceSpec,
    env: &'a Environment,
}

impl Resolve for SiblingNames<'_> {
    fn output(&self, r: &OutputRef) -> Option<String> {
        if r.output != OutputKey::Name {
            return None;
        }
        let prefix = self
            .spec
            .physical_name
            .strip_suffix(self.spec.id.logical())?;
        Some(format!("{prefix}{}", r.resource.logical()))
    }

    fn env(&self, fact: EnvFact) -> String {
        self.env.fact(fact)
    }
}

fn clamp(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

// ---------------------------------------------------------------------------------------
// Scalable targets
// ---------------------------------------------------------------------------------------

fn target_id(
    target: &ScalingTargetSpec,
    resolver: &dyn Resolve,
    operation: &str,
) -> Result<ScalableId, CloudError> {
    ScalableId::resolve(
        &target.service_namespace,
        &target.resource_id,
        &target.scalable_dimension,
        resolver,
        operation,
    )
}

/// The registered target of the spec's namespace, resource and dimension, or `None`.
pub async fn observe_target(
    clients: &AwsClients,
    spec: &ResourceSpec,
    target: &ScalingTargetSpec,
    env: &Environment,
) -> Result<Option<Observed>, CloudError> {
    let op = "DescribeScalableTargets";
    let id = target_id(target, &SiblingNames { spec, env }, op)?;
    Ok(describe_target(clients, &id)
        .await?
        .map(|found| target_observed(&id, &found)))
}

async fn describe_target(
    clients: &AwsClients,
    id: &ScalableId,
) -> Result<Option<ScalableTarget>, CloudError> {
    let out = clients
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(id.namespace())
        .resource_ids(&id.resource_id)
        .scalable_dimension(id.dimension())
        .send()
        .await
        .classified(SERVICE, "DescribeScalableTargets")?;
    // One resource id and one dimension select at most one target; the filter guards
    // against an endpoint that ignores the dimension.
    Ok(out
        .scalable_targets
        .unwrap_or_default()
        .into_iter()
        .find(|t| {
            t.resource_id() == id.resource_id && t.scalable_dimension().as_str() == id.dimension
        }))
}

fn target_observed(id: &ScalableId, found: &ScalableTarget) -> Observed {
    let mut fields: std::collections::BTreeMap<String, Json> = id
        .fields()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    fields.insert(field::MIN_CAPACITY.to_owned(), json!(found.min_capacity()));
    fields.insert(field::MAX_CAPACITY.to_owned(), json!(found.max_capacity()));
    Observed {
        physical_id: format!("{}|{}", id.resource_id, id.dimension),
        outputs: Outputs::from([(
            OutputKey::Arn,
            found.scalable_target_arn().unwrap_or_default().to_owned(),
        )]),
        fields,
    }
}

/// RegisterScalableTarget with the bounds and the stack's tags (set once, at registration:
/// the target is never found by them).
pub async fn create_target(
    clients: &AwsClients,
    spec: &ResourceSpec,
    target: &ScalingTargetSpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "RegisterScalableTarget";
    let id = target_id(target, ctx, op)?;
    let tags = (!spec.tags.is_empty()).then(|| spec.tags.clone().into_iter().collect());
    let bounds = (
        Some(clamp(target.min_capacity)),
        Some(clamp(target.max_capacity)),
    );
    register(clients, &id, bounds, tags, op).await
}

/// RegisterScalableTarget with (min, max) capacity; a bound left out keeps its value.
async fn register(
    clients: &AwsClients,
    id: &ScalableId,
    (min, max): (Option<i32>, Option<i32>),
    tags: Option<std::collections::HashMap<String, String>>,
    op: &str,
) -> Result<Outputs, CloudError> {
    let out = clients
        .autoscaling
        .register_scalable_target()
        .service_namespace(id.namespace())
        .resource_id(&id.resource_id)
        .scalable_dimension(id.dimension())
        .set_min_capacity(min)
        .set_max_capacity(max)
        .set_tags(tags)
        .send()
        .await
        .classified(SERVICE, op)?;
    Ok(Outputs::from([(
        OutputKey::Arn,
        out.scalable_target_arn.unwrap_or_default(),
    )]))
}

/// New bounds: RegisterScalableTarget again (AWS updates a registered target in place),
/// read through `resolved_field` so an undo writes back the recorded bounds.
pub async fn update_target(
    clients: &AwsClients,
    spec: &ResourceSpec,
    target: &ScalingTargetSpec,
    current: &Observed,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "RegisterScalableTarget";
    for name in changed {
        if name != field::MIN_CAPACITY && name != field::MAX_CAPACITY {
            return Err(unknown_field(spec, name));
        }
    }
    let id = target_id(target, ctx, op)?;
    let bounds = (
        resolved_i32(spec, field::MIN_CAPACITY, ctx, SERVICE, op)?,
        resolved_i32(spec, field::MAX_CAPACITY, ctx, SERVICE, op)?,
    );
    let mut outputs = register(clients, &id, bounds, None, op).await?;
    // AWS returns the ARN on every registration; keep the observed one if an endpoint
    // does not.
    if outputs.get(&OutputKey::Arn).is_none_or(String::is_empty) {
        outputs = current.outputs.clone();
    }
    Ok(outputs)
}

/// DeregisterScalableTarget (which also deletes its policies); already gone is fine.
pub async fn delete_target(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let op = "DeregisterScalableTarget";
    let id = ScalableId::of_observed(current, op)?;
    clients
        .autoscaling
        .deregister_scalable_target()
        .service_namespace(id.namespace())
        .resource_id(&id.resource_id)
        .scalable_dimension(id.dimension())
        .send()
        .await
        .classified(SERVICE, op)
        .found(&["ObjectNotFoundException"])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Scaling policies
// ---------------------------------------------------------------------------------------

fn policy_id(
    policy: &ScalingPolicySpec,
    resolver: &dyn Resolve,
    operation: &str,
) -> Result<ScalableId, CloudError> {
    ScalableId::resolve(
        &policy.service_namespace,
        &policy.resource_id,
        &policy.scalable_dimension,
        resolver,
        operation,
    )
}

/// The policy named by the spec's physical name on its namespace, resource and dimension.
pub async fn observe_policy(
    clients: &AwsClients,
    spec: &ResourceSpec,
    policy: &ScalingPolicySpec,
    env: &Environment,
) -> Result<Option<Observed>, CloudError> {
    let op = "DescribeScalingPolicies";
    let id = policy_id(policy, &SiblingNames { spec, env }, op)?;
    let out = clients
        .autoscaling
        .describe_scaling_policies()
        .service_namespace(id.namespace())
        .resource_id(&id.resource_id)
        .scalable_dimension(id.dimension())
        .policy_names(&spec.physical_name)
        .send()
        .await
        .classified(SERVICE, op)?;
    Ok(out
        .scaling_policies
        .unwrap_or_default()
        .iter()
        .find(|p| {
            p.policy_name() == spec.physical_name
                && p.resource_id() == id.resource_id
                && p.scalable_dimension().as_str() == id.dimension
        })
        .map(|found| policy_observed(&id, found)))
}

fn policy_observed(id: &ScalableId, found: &ScalingPolicy) -> Observed {
    let mut fields: std::collections::BTreeMap<String, Json> = id
        .fields()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    fields.insert(
        field::POLICY_TYPE.to_owned(),
        json!(found.policy_type().as_str()),
    );
    fields.insert(
        field::TARGET_TRACKING.to_owned(),
        found
            .target_tracking_scaling_policy_configuration()
            .map_or(Json::Null, target_tracking_json),
    );
    Observed {
        physical_id: found.policy_name().to_owned(),
        outputs: Outputs::from([
            (OutputKey::Arn, found.policy_arn().to_owned()),
            (OutputKey::Name, found.policy_name().to_owned()),
        ]),
        fields,
    }
}

/// The `target_tracking` field's shape (see `ScalingPolicySpec`): only the predefined
/// metric is compared; a customized metric reads as a null metric type, so it differs.
fn target_tracking_json(config: &TargetTrackingScalingPolicyConfiguration) -> Json {
    json!({
        "target_value": config.target_value(),
        "predefined_metric_type": config
            .predefined_metric_specification()
            .map(|m| m.predefined_metric_type().as_str()),
        "scale_in_cooldown": config.scale_in_cooldown(),
        "scale_out_cooldown": config.scale_out_cooldown(),
        "disable_scale_in": config.disable_scale_in().unwrap_or(false),
    })
}

/// PutScalingPolicy with the whole target-tracking configuration (create and update are
/// the same call: AWS replaces a policy of the same name). Built from the resolved
/// `policy_type` and `target_tracking` fields, so an undo writes back the recorded policy.
pub async fn put_policy(
    clients: &AwsClients,
    spec: &ResourceSpec,
    policy: &ScalingPolicySpec,
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    let op = "PutScalingPolicy";
    let id = policy_id(policy, ctx, op)?;
    let policy_type = resolved_text(spec, field::POLICY_TYPE, ctx, SERVICE, op)?;
    let tracking = resolved_field(spec, field::TARGET_TRACKING, ctx, SERVICE, op)?;
    let config = if tracking.is_null() {
        None
    } else {
        Some(target_tracking_config(&Members::of(
            spec,
            field::TARGET_TRACKING,
            &tracking,
            SERVICE,
            op,
        ))?)
    };
    let out = clients
        .autoscaling
        .put_scaling_policy()
        .policy_name(&spec.physical_name)
        .service_namespace(id.namespace())
        .resource_id(&id.resource_id)
        .scalable_dimension(id.dimension())
        .set_policy_type(policy_type.map(|t| PolicyType::from(t.as_str())))
        .set_target_tracking_scaling_policy_configuration(config)
        .send()
        .await
        .classified(SERVICE, op)?;
    Ok(Outputs::from([
        (OutputKey::Arn, out.policy_arn),
        (OutputKey::Name, spec.physical_name.clone()),
    ]))
}

/// The request's configuration from the `target_tracking` field (the shape
/// `target_tracking_json` reads back).
fn target_tracking_config(
    members: &Members<'_>,
) -> Result<TargetTrackingScalingPolicyConfiguration, CloudError> {
    let op = members.operation;
    let built = |e: aws_sdk_applicationautoscaling::error::BuildError| {
        CloudError::fatal(SERVICE, op, format!("could not build the request: {e}"))
    };
    let metric = match members.text("predefined_metric_type")? {
        Some(metric_type) => Some(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::from(metric_type.as_str()))
                .build()
                .map_err(built)?,
        ),
        None => None,
    };
    TargetTrackingScalingPolicyConfiguration::builder()
        .set_target_value(members.f64("target_value")?)
        .set_predefined_metric_specification(metric)
        .set_scale_in_cooldown(members.i32("scale_in_cooldown")?)
        .set_scale_out_cooldown(members.i32("scale_out_cooldown")?)
        .set_disable_scale_in(members.bool("disable_scale_in")?)
        .build()
        .map_err(built)
}

/// Changed `policy_type` or `target_tracking`: PutScalingPolicy with the whole policy.
pub async fn update_policy(
    clients: &AwsClients,
    spec: &ResourceSpec,
    policy: &ScalingPolicySpec,
    changed: &[String],
    ctx: &StepContext,
) -> Result<Outputs, CloudError> {
    for name in changed {
        if name != field::POLICY_TYPE && name != field::TARGET_TRACKING {
            return Err(unknown_field(spec, name));
        }
    }
    put_policy(clients, spec, policy, ctx).await
}

/// DeleteScalingPolicy; a policy (or target) that is already gone is fine.
pub async fn delete_policy(clients: &AwsClients, current: &Observed) -> Result<(), CloudError> {
    let op = "DeleteScalingPolicy";
    let id = ScalableId::of_observed(current, op)?;
    clients
        .autoscaling
        .delete_scaling_policy()
        .policy_name(&current.physical_id)
        .service_namespace(id.namespace())
        .resource_id(&id.resource_id)
        .scalable_dimension(id.dimension())
        .send()
        .await
        .classified(SERVICE, op)
        .found(&["ObjectNotFoundException"])?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------

/// Which auto scaling of the stack's table a registration belongs to: `table` or the
/// index's name, and `read` or `write`; `None` for anything else.
fn scaled_owner(
    table_resource: &str,
    resource_id: &str,
    dimension: &str,
) -> Option<(String, &'static str)> {
    let owner = if resource_id == table_resource {
        "table".to_owned()
    } else {
        resource_id
            .strip_prefix(table_resource)?
            .strip_prefix("/index/")?
            .to_owned()
    };
    let side = if dimension.ends_with(":ReadCapacityUnits") {
        "read"
    } else if dimension.ends_with(":WriteCapacityUnits") {
        "write"
    } else {
        return None;
    };
    Some((owner, side))
}

/// Every scalable target on the stack's table or one of its indexes, and every policy on
/// them named `{stack}-…`, including ones the config no longer wants (a table switched
/// back to on-demand). Found by namespace and resource id, which follow from the table's
/// name, never by tags.
pub async fn discover(clients: &AwsClients, stack: &str) -> Result<Vec<Discovered>, CloudError> {
    let table_resource = format!("table/{stack}-{TABLE}");
    let mut found = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = clients
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Dynamodb)
            .set_next_token(next.take())
            .send()
            .await
            .classified(SERVICE, "DescribeScalableTargets")?;
        for target in out.scalable_targets() {
            let dimension = target.scalable_dimension().as_str();
            let Some((owner, side)) =
                scaled_owner(&table_resource, target.resource_id(), dimension)
            else {
                continue;
            };
            let id = ScalableId {
                namespace: target.service_namespace().as_str().to_owned(),
                resource_id: target.resource_id().to_owned(),
                dimension: dimension.to_owned(),
            };
            found.push(Discovered {
                id: ResourceId::new(ResourceKind::ScalingTarget, scaling_logical(&owner, side)),
                observed: target_observed(&id, target),
            });
        }
        match out.next_token {
            Some(token) => next = Some(token),
            None => break,
        }
    }
    let name_prefix = format!("{stack}-");
    loop {
        let out = clients
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Dynamodb)
            .set_next_token(next.take())
            .send()
            .await
            .classified(SERVICE, "DescribeScalingPolicies")?;
        for policy in out.scaling_policies() {
            let dimension = policy.scalable_dimension().as_str();
            let on_stack_table =
                scaled_owner(&table_resource, policy.resource_id(), dimension).is_some();
            let Some(logical) = policy.policy_name().strip_prefix(&name_prefix) else {
                continue;
            };
            if !on_stack_table {
                continue;
            }
            let id = ScalableId {
                namespace: policy.service_namespace().as_str().to_owned(),
                resource_id: policy.resource_id().to_owned(),
                dimension: dimension.to_owned(),
            };
            found.push(Discovered {
                id: ResourceId::new(ResourceKind::ScalingPolicy, logical),
                observed: policy_observed(&id, policy),
            });
        }
        match out.next_token {
            Some(token) => next = Some(token),
            None => break,
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
        }
    }

    #[test]
    fn observing_resolves_the_table_name_from_the_naming_convention() {
        let table = ResourceId::new(ResourceKind::Table, "transactions");
        let spec_id = ResourceId::new(ResourceKind::ScalingTarget, "table-read");
        let spec = ResourceSpec {
            id: spec_id,
            physical_name: "tx-dev-table-read".into(),
            tags: Default::default(),
            body: crate::spec::SpecBody::ScalingTarget(ScalingTargetSpec {
                service_namespace: "dynamodb".into(),
                resource_id: Value::Concat(vec![
                    Value::str("table/"),
                    OutputRef::name(&table).into(),
                    Value::str("/index/merchant-date-index"),
                ]),
                scalable_dimension: "dynamodb:index:ReadCapacityUnits".into(),
                min_capacity: 5,
                max_capacity: 100,
            }),
            depends_on: Vec::new(),
        };
        let crate::spec::SpecBody::ScalingTarget(target) = &spec.body else {
            unreachable!()
        };
        let env = env();
        let id = target_id(
            target,
            &SiblingNames {
                spec: &spec,
                env: &env,
            },
            "x",
        )
        .unwrap();
        assert_eq!(
            id.resource_id,
            "table/tx-dev-transactions/index/merchant-date-index"
        );
        // Only names come from the convention; an ARN is not guessed.
        let names = SiblingNames {
            spec: &spec,
            env: &env,
        };
        assert_eq!(names.output(&OutputRef::arn(&table)), None);
    }

    #[test]
    fn registrations_map_back_to_the_logical_names_the_stack_gives_them() {
        let table = "table/tx-dev-transactions";
        assert_eq!(
            scaled_owner(table, table, "dynamodb:table:ReadCapacityUnits"),
            Some(("table".to_owned(), "read"))
        );
        assert_eq!(
            scaled_owner(
                table,
                "table/tx-dev-transactions/index/merchant-date-index",
                "dynamodb:index:WriteCapacityUnits"
            ),
            Some(("merchant-date-index".to_owned(), "write"))
        );
        // Another stack's table whose name starts like this one's is not ours.
        assert_eq!(
            scaled_owner(
                table,
                "table/tx-dev-transactions-old",
                "dynamodb:table:ReadCapacityUnits"
            ),
            None
        );
        assert_eq!(
            scaled_owner(table, table, "dynamodb:table:SomethingElse"),
            None
        );
        assert_eq!(
            scaling_logical("merchant-date-index", "write"),
            "merchant-date-index-write"
        );
    }
}
