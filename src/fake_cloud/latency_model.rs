//! `LatencyModel`: how long each fake AWS call takes, so the executor can be measured and
//! tested against realistic timings (scaled down, or under paused tokio time).

use std::time::Duration;

/// The cost class of one fake AWS call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// `kms:CreateKey`.
    KmsCreate,
    /// Any other KMS call on a key (rotation, policy, description, tags, deletion).
    KmsSetting,
    /// `kms:CreateAlias` / `UpdateAlias` / `DeleteAlias`.
    KmsAlias,
    /// Every S3 bucket call: create, one per sub-setting, delete.
    S3Setting,
    /// Every SQS call.
    Sqs,
    /// Every SNS call.
    Sns,
    /// Lambda alias calls: `CreateAlias`, `UpdateAlias`, provisioned concurrency, `DeleteAlias`.
    LambdaAlias,
    /// Reads: observe, discover, the caller identity.
    Read,
}

/// Latency per cost class, multiplied by `scale`.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyModel {
    pub kms_create: Duration,
    pub kms_setting: Duration,
    pub kms_alias: Duration,
    pub s3_setting: Duration,
    pub sqs: Duration,
    pub sns: Duration,
    pub lambda_alias: Duration,
    pub read: Duration,
    /// Multiplies every latency: 1.0 is AWS-like, 0.0 makes every call instant.
    pub scale: f64,
}

impl LatencyModel {
    /// Timings close to what these calls take in a real region.
    pub fn aws_like() -> Self {
        Self {
            kms_create: Duration::from_millis(400),
            kms_setting: Duration::from_millis(60),
            kms_alias: Duration::from_millis(50),
            s3_setting: Duration::from_millis(300),
            sqs: Duration::from_millis(100),
            sns: Duration::from_millis(80),
            lambda_alias: Duration::from_millis(60),
            read: Duration::from_millis(20),
            scale: 1.0,
        }
    }

    /// Every call returns at once.
    pub fn instant() -> Self {
        Self {
            scale: 0.0,
            ..Self::aws_like()
        }
    }

    /// The same model with every latency multiplied by `scale`.
    pub fn scaled(self, scale: f64) -> Self {
        Self { scale, ..self }
    }

    /// How long a call of this cost takes.
    pub fn of(&self, cost: Cost) -> Duration {
        let base = match cost {
            Cost::KmsCreate => self.kms_create,
            Cost::KmsSetting => self.kms_setting,
            Cost::KmsAlias => self.kms_alias,
            Cost::S3Setting => self.s3_setting,
            Cost::Sqs => self.sqs,
            Cost::Sns => self.sns,
            Cost::LambdaAlias => self.lambda_alias,
            Cost::Read => self.read,
        };
        base.mul_f64(self.scale.max(0.0))
    }
}
