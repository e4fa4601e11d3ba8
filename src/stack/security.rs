//! The customer-managed KMS keys (`s3`, `dynamodb`, `sqs` for SQS and SNS, `logs`), each with
//! rotation and an alias, and key policies that grant service principals only what they need.

use super::{Builder, KEYS, id};
use crate::spec::{
    EnvFact, KmsAliasSpec, KmsKeySpec, OutputRef, ResourceGraph, ResourceKind, ResourceSpec,
    SpecBody, Value,
};

pub(crate) fn add(b: &Builder<'_>, graph: &mut ResourceGraph) {
    for name in KEYS {
        graph.add(kms_key(b, name));
        graph.add(kms_alias(b, name));
    }
}

fn account_root() -> Value {
    Value::Concat(vec![
        Value::str("arn:"),
        Value::Env(EnvFact::Partition),
        Value::str(":iam::"),
        Value::Env(EnvFact::AccountId),
        Value::str(":root"),
    ])
}

/// The key policy: the account administers the key (so IAM policies can grant use of it);
/// service principals get only what their service needs.
pub(crate) fn key_policy(b: &Builder<'_>, name: &str) -> Value {
    let mut statements = vec![Value::map([
        ("Sid", Value::str("AccountAdministers")),
        ("Effect", Value::str("Allow")),
        ("Principal", Value::map([("AWS", account_root())])),
        ("Action", Value::str("kms:*")),
        ("Resource", Value::str("*")),
    ])];
    match name {
        "logs" => statements.push(Value::map([
            ("Sid", Value::str("CloudWatchLogsEncrypt")),
            ("Effect", Value::str("Allow")),
            (
                "Principal",
                Value::map([(
                    "Service",
                    Value::Concat(vec![
                        Value::str("logs."),
                        Value::Env(EnvFact::Region),
                        Value::str(".amazonaws.com"),
                    ]),
                )]),
            ),
            (
                "Action",
                Value::list([
                    Value::str("kms:Encrypt*"),
                    Value::str("kms:Decrypt*"),
                    Value::str("kms:ReEncrypt*"),
                    Value::str("kms:GenerateDataKey*"),
                    Value::str("kms:Describe*"),
                ]),
            ),
            ("Resource", Value::str("*")),
            (
                "Condition",
                Value::map([(
                    "ArnLike",
                    Value::map([(
                        "kms:EncryptionContext:aws:logs:arn",
                        b.arn("logs", vec![Value::str("log-group:*")]),
                    )]),
                )]),
            ),
        ])),
        // CloudWatch alarms publish to the KMS-encrypted alarms topic.
        "sqs" => statements.push(Value::map([
            ("Sid", Value::str("CloudWatchAlarmsPublish")),
            ("Effect", Value::str("Allow")),
            (
                "Principal",
                Value::map([("Service", Value::str("cloudwatch.amazonaws.com"))]),
            ),
            (
                "Action",
                Value::list([
                    Value::str("kms:Decrypt"),
                    Value::str("kms:GenerateDataKey*"),
                ]),
            ),
            ("Resource", Value::str("*")),
        ])),
        _ => {}
    }
    Builder::document(statements)
}

fn kms_key(b: &Builder<'_>, name: &str) -> ResourceSpec {
    b.spec(
        ResourceKind::KmsKey,
        name,
        SpecBody::KmsKey(KmsKeySpec {
            description: format!("txdeploy {} {name} key", b.config.stack_name()),
            rotation_period_days: b.config.kms.rotation_period_days,
            policy: key_policy(b, name),
        }),
    )
}

fn kms_alias(b: &Builder<'_>, name: &str) -> ResourceSpec {
    let key = id(ResourceKind::KmsKey, name);
    let mut spec = b.spec(
        ResourceKind::KmsAlias,
        name,
        SpecBody::KmsAlias(KmsAliasSpec {
            target_key: OutputRef::id(&key),
        }),
    );
    spec.physical_name = format!("alias/{}", b.name(name));
    spec
}
