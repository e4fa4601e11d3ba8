//! Application Auto Scaling: scalable targets and target-tracking policies on the table's
//! and every index's read and write capacity (only when the table is provisioned).

use crate::spec::resource_spec::{Fields, field, replace, update};
use crate::spec::value::Value;

const IDENTITY: &str = "a scalable target is identified by its namespace, resource and dimension";

/// A scalable target. The physical name is only a label; AWS identifies it by its
/// namespace, resource id and dimension.
///
/// Fields: `service_namespace` (`"dynamodb"`), `resource_id` (`table/{name}` or
/// `table/{name}/index/{index}`), `scalable_dimension` (e.g.
/// `dynamodb:table:ReadCapacityUnits`), all three replace; `min_capacity`, `max_capacity`
/// (integers, update by registering again). The stack's tags are sent at registration but
/// not compared (see `ResourceKind::compares_tags`). Outputs: `Arn` (the scalable target
/// ARN).
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingTargetSpec {
    pub service_namespace: String,
    /// Built from the table's name output.
    pub resource_id: Value,
    pub scalable_dimension: String,
    pub min_capacity: u32,
    pub max_capacity: u32,
}

impl ScalingTargetSpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::SERVICE_NAMESPACE,
            replace(self.service_namespace.as_str(), IDENTITY),
        );
        fields.insert(
            field::RESOURCE_ID,
            replace(self.resource_id.clone(), IDENTITY),
        );
        fields.insert(
            field::SCALABLE_DIMENSION,
            replace(self.scalable_dimension.as_str(), IDENTITY),
        );
        fields.insert(field::MIN_CAPACITY, update(self.min_capacity));
        fields.insert(field::MAX_CAPACITY, update(self.max_capacity));
    }
}

/// A target-tracking scaling policy; the physical name is the policy name. The spec depends
/// on its target explicitly (AWS needs the target registered first).
///
/// Fields: `service_namespace`, `resource_id`, `scalable_dimension` (replace, as for the
/// target), `policy_type` (`"TargetTrackingScaling"`), `target_tracking`:
/// `{"target_value": float, "predefined_metric_type", "scale_in_cooldown",
/// "scale_out_cooldown", "disable_scale_in": false}` (update via `PutScalingPolicy`). Not
/// taggable. Outputs: `Arn`, `Name`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingPolicySpec {
    pub service_namespace: String,
    pub resource_id: Value,
    pub scalable_dimension: String,
    /// Target utilization in percent (70).
    pub target_value: f64,
    /// `DynamoDBReadCapacityUtilization` or `DynamoDBWriteCapacityUtilization`.
    pub predefined_metric_type: String,
    pub scale_in_cooldown_seconds: u32,
    pub scale_out_cooldown_seconds: u32,
}

impl ScalingPolicySpec {
    pub(crate) fn add_fields(&self, fields: &mut Fields) {
        fields.insert(
            field::SERVICE_NAMESPACE,
            replace(self.service_namespace.as_str(), IDENTITY),
        );
        fields.insert(
            field::RESOURCE_ID,
            replace(self.resource_id.clone(), IDENTITY),
        );
        fields.insert(
            field::SCALABLE_DIMENSION,
            replace(self.scalable_dimension.as_str(), IDENTITY),
        );
        fields.insert(field::POLICY_TYPE, update("TargetTrackingScaling"));
        fields.insert(
            field::TARGET_TRACKING,
            update(Value::map([
                ("target_value", Value::Float(self.target_value)),
                (
                    "predefined_metric_type",
                    Value::str(self.predefined_metric_type.clone()),
                ),
                ("scale_in_cooldown", self.scale_in_cooldown_seconds.into()),
                ("scale_out_cooldown", self.scale_out_cooldown_seconds.into()),
                ("disable_scale_in", Value::Bool(false)),
            ])),
        );
    }
}
