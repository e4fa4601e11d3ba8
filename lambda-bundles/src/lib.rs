//! txhandlers: the Lambda handlers of the transaction stack, served by one `bootstrap`.
//!
//! ```text
//! API Gateway ─► api_handler (transaction-validator)
//!                  ├─ api_router ─► validator ─► transaction   (pure: no I/O)
//!                  ├─ DynamoDB PutItem (conditional, payload hash) / GetItem / Query GSI
//!                  ├─ SQS SendMessage ×2 ─► queue_processor (analytics, reporting)
//!                  └─ Lambda Invoke (Event) ─► notification_handler ─► SNS Publish
//! every handler ─► telemetry: JSON log lines + CloudWatch EMF metrics on stdout
//! ```
//!
//! Modules:
//! - [`transaction`], [`currency`]: the shared model (ids, exact amounts, dates, messages).
//! - [`validator`], [`api_router`], [`api_response`], [`pagination`]: the pure request side.
//! - [`api_handler`], [`notification_handler`], [`queue_processor`]: the handlers' I/O.
//! - [`dynamo_item`]: the stored item and its public JSON view.
//! - [`handler_env`]: `TXDEPLOY_HANDLER` and the environment each handler needs.
//! - [`telemetry`]: structured logs and EMF metrics.

pub mod api_handler;
pub mod api_response;
pub mod api_router;
pub mod currency;
pub mod dynamo_item;
pub mod handler_env;
pub mod notification_handler;
pub mod pagination;
pub mod queue_processor;
pub mod telemetry;
pub mod transaction;
pub mod validator;
