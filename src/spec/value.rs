//! `Value`: a desired setting that may reference another resource's output or the target
//! account, resolved to JSON only when those are known.
//!
//! This is what makes the seed review's F5 and F20 (documents built from unresolved outputs)
//! impossible: a policy or dashboard is a `Value` tree until the executor resolves every
//! reference from finished nodes, and only resolved JSON is ever sent.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::resource_id::ResourceId;

/// Which output of a finished resource a reference reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKey {
    /// The resource's ARN.
    Arn,
    /// The service's own identifier (KMS key id, queue URL is `Url`, bucket name is `Name`).
    Id,
    /// A URL (SQS queue URL).
    Url,
    /// The physical name.
    Name,
    /// The number of the Lambda version published for the function's current code and
    /// configuration (what its `live` alias points at).
    Version,
}

impl fmt::Display for OutputKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputKey::Arn => "arn",
            OutputKey::Id => "id",
            OutputKey::Url => "url",
            OutputKey::Name => "name",
            OutputKey::Version => "version",
        })
    }
}

/// Outputs a resource reports once it exists.
pub type Outputs = BTreeMap<OutputKey, String>;

/// A typed reference to one output of another resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OutputRef {
    pub resource: ResourceId,
    pub output: OutputKey,
}

impl OutputRef {
    pub fn arn(resource: &ResourceId) -> Self {
        Self {
            resource: resource.clone(),
            output: OutputKey::Arn,
        }
    }

    pub fn id(resource: &ResourceId) -> Self {
        Self {
            resource: resource.clone(),
            output: OutputKey::Id,
        }
    }

    pub fn url(resource: &ResourceId) -> Self {
        Self {
            resource: resource.clone(),
            output: OutputKey::Url,
        }
    }

    pub fn name(resource: &ResourceId) -> Self {
        Self {
            resource: resource.clone(),
            output: OutputKey::Name,
        }
    }

    pub fn version(resource: &ResourceId) -> Self {
        Self {
            resource: resource.clone(),
            output: OutputKey::Version,
        }
    }
}

impl fmt::Display for OutputRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.resource, self.output)
    }
}

/// Facts about the target environment that specs may use before any resource exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvFact {
    AccountId,
    Region,
    Partition,
}

/// A desired value: plain JSON-like data plus references resolved at apply time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// A number AWS stores as a double (alarm thresholds, throttling rates, target values);
    /// adapters report such fields as JSON floats so `1.0` compares equal to `1.0`.
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Another resource's output, for example a key ARN.
    Ref(OutputRef),
    /// A fact about the account or region.
    Env(EnvFact),
    /// A string joined from parts, for example an ARN built from the region and a name.
    Concat(Vec<Value>),
    /// The value serialized as a JSON string (policies, redrive policies), compared as JSON.
    JsonText(Box<Value>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Self {
        Value::Str(s.into())
    }

    /// Builds a map from `(key, value)` pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Self {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn list(items: impl IntoIterator<Item = Value>) -> Self {
        Value::List(items.into_iter().collect())
    }

    /// Every resource output this value reads; dependencies are derived from these.
    pub fn references(&self, out: &mut Vec<OutputRef>) {
        match self {
            Value::Ref(r) => out.push(r.clone()),
            Value::List(items) | Value::Concat(items) => {
                items.iter().for_each(|v| v.references(out));
            }
            Value::Map(map) => map.values().for_each(|v| v.references(out)),
            Value::JsonText(inner) => inner.references(out),
            Value::Null
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Str(_)
            | Value::Env(_) => {}
        }
    }

    /// Resolves every reference; fails with the first reference that has no value yet.
    pub fn resolve(&self, ctx: &dyn Resolve) -> Result<Json, Unresolved> {
        Ok(match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) => Json::String(s.clone()),
            Value::List(items) => Json::Array(
                items
                    .iter()
                    .map(|v| v.resolve(ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Map(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), v.resolve(ctx)?)))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Ref(r) => Json::String(ctx.output(r).ok_or_else(|| Unresolved(r.clone()))?),
            Value::Env(fact) => Json::String(ctx.env(*fact)),
            Value::Concat(parts) => {
                let mut joined = String::new();
                for part in parts {
                    match part.resolve(ctx)? {
                        Json::String(s) => joined.push_str(&s),
                        other => joined.push_str(&other.to_string()),
                    }
                }
                Json::String(joined)
            }
            // Kept as a JSON value so that diffs compare documents, not their spelling;
            // adapters serialize it when they send it.
            Value::JsonText(inner) => inner.resolve(ctx)?,
        })
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<OutputRef> for Value {
    fn from(r: OutputRef) -> Self {
        Value::Ref(r)
    }
}

/// A reference whose resource has not produced that output (yet).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` has no value yet")]
pub struct Unresolved(pub OutputRef);

/// Where resolution reads outputs and environment facts from.
pub trait Resolve {
    fn output(&self, r: &OutputRef) -> Option<String>;
    fn env(&self, fact: EnvFact) -> String;
}

/// The target environment: account, region and partition, read once per run (STS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub account_id: String,
    pub region: String,
    pub partition: String,
}

impl Environment {
    pub fn fact(&self, fact: EnvFact) -> String {
        match fact {
            EnvFact::AccountId => self.account_id.clone(),
            EnvFact::Region => self.region.clone(),
            EnvFact::Partition => self.partition.clone(),
        }
    }
}

/// Resolution from a map of known outputs plus the environment.
pub struct OutputTable<'a> {
    pub env: &'a Environment,
    pub outputs: &'a BTreeMap<ResourceId, Outputs>,
}

impl Resolve for OutputTable<'_> {
    fn output(&self, r: &OutputRef) -> Option<String> {
        self.outputs.get(&r.resource)?.get(&r.output).cloned()
    }

    fn env(&self, fact: EnvFact) -> String {
        self.env.fact(fact)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::spec::resource_id::ResourceKind;

    fn env() -> Environment {
        Environment {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
        }
    }

    #[test]
    fn references_are_collected_from_nested_documents() {
        let key = ResourceId::new(ResourceKind::KmsKey, "sqs");
        let doc = Value::JsonText(Box::new(Value::map([(
            "Statement",
            Value::list([Value::map([("Resource", OutputRef::arn(&key).into())])]),
        )])));
        let mut refs = Vec::new();
        doc.references(&mut refs);
        assert_eq!(refs, vec![OutputRef::arn(&key)]);
    }

    #[test]
    fn resolution_fails_on_the_missing_reference_and_succeeds_once_known() {
        let key = ResourceId::new(ResourceKind::KmsKey, "s3");
        let value = Value::Concat(vec![
            Value::str("arn:"),
            Value::Env(EnvFact::Partition),
            Value::str(":x:"),
            OutputRef::id(&key).into(),
        ]);
        let env = env();
        let mut outputs = BTreeMap::new();
        let err = value
            .resolve(&OutputTable {
                env: &env,
                outputs: &outputs,
            })
            .unwrap_err();
        assert_eq!(err, Unresolved(OutputRef::id(&key)));
        outputs.insert(
            key.clone(),
            Outputs::from([(OutputKey::Id, "k-1".to_owned())]),
        );
        let resolved = value
            .resolve(&OutputTable {
                env: &env,
                outputs: &outputs,
            })
            .unwrap();
        assert_eq!(resolved, Json::String("arn:aws:x:k-1".into()));
    }

    #[test]
    fn floats_resolve_to_json_doubles_and_versions_name_their_output() {
        let env = env();
        let outputs = BTreeMap::new();
        let table = OutputTable {
            env: &env,
            outputs: &outputs,
        };
        assert_eq!(
            Value::Float(1.0).resolve(&table).unwrap(),
            serde_json::json!(1.0)
        );
        assert_ne!(
            Value::Float(1.0).resolve(&table).unwrap(),
            serde_json::json!(1)
        );
        let function = ResourceId::new(ResourceKind::Function, "transaction-validator");
        assert_eq!(
            OutputRef::version(&function).to_string(),
            "function/transaction-validator.version"
        );
    }
}
