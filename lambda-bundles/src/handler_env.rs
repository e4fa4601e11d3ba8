//! Which handler this `bootstrap` runs (`TXDEPLOY_HANDLER`) and the environment each needs.

use std::fmt;

/// The variable that selects the handler: one zip serves all four functions.
pub const HANDLER_VAR: &str = "TXDEPLOY_HANDLER";

/// The four functions of the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    TransactionValidator,
    NotificationHandler,
    AnalyticsProcessor,
    ReportingProcessor,
}

impl HandlerKind {
    pub const ALL: [HandlerKind; 4] = [
        HandlerKind::TransactionValidator,
        HandlerKind::NotificationHandler,
        HandlerKind::AnalyticsProcessor,
        HandlerKind::ReportingProcessor,
    ];

    /// The value of `TXDEPLOY_HANDLER`, also the function's logical name in the stack.
    pub fn name(self) -> &'static str {
        match self {
            HandlerKind::TransactionValidator => "transaction-validator",
            HandlerKind::NotificationHandler => "notification-handler",
            HandlerKind::AnalyticsProcessor => "analytics-processor",
            HandlerKind::ReportingProcessor => "reporting-processor",
        }
    }

    pub fn parse(value: &str) -> Option<HandlerKind> {
        HandlerKind::ALL
            .into_iter()
            .find(|kind| kind.name() == value)
    }

    /// The environment variables the handler cannot start without.
    pub fn required_env(self) -> &'static [&'static str] {
        match self {
            HandlerKind::TransactionValidator => &[
                "TRANSACTIONS_TABLE",
                "ANALYTICS_QUEUE_URL",
                "REPORTING_QUEUE_URL",
                "NOTIFICATION_FUNCTION",
                "PAGINATION_KEY",
            ],
            HandlerKind::NotificationHandler => &["NOTIFICATIONS_TOPIC_ARN"],
            HandlerKind::AnalyticsProcessor | HandlerKind::ReportingProcessor => {
                &["TRANSACTIONS_TABLE"]
            }
        }
    }
}

/// A start-up failure; Lambda reports it as an init error, so the message says what to set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvError {
    UnknownHandler(Option<String>),
    Missing {
        handler: &'static str,
        names: Vec<&'static str>,
    },
    Invalid {
        name: &'static str,
        reason: &'static str,
    },
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvError::UnknownHandler(value) => {
                let names: Vec<&str> = HandlerKind::ALL.iter().map(|k| k.name()).collect();
                write!(
                    f,
                    "`{HANDLER_VAR}` is {}: set it to one of {}",
                    value
                        .as_deref()
                        .map_or("unset".to_owned(), |v| format!("`{v}`")),
                    names.join(", ")
                )
            }
            EnvError::Missing { handler, names } => write!(
                f,
                "`{handler}` needs the environment variables {}: set them on the function \
                 (`txdeploy deploy` does)",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            EnvError::Invalid { name, reason } => write!(f, "`{name}` {reason}"),
        }
    }
}

impl std::error::Error for EnvError {}

/// Reads the environment through a function, so tests pass a map instead of the process env.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as an `EnvLookup`.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Reads every required variable, reporting all the missing ones at once.
pub fn required(kind: HandlerKind, env: EnvLookup<'_>) -> Result<Vec<String>, EnvError> {
    let mut values = Vec::new();
    let mut missing = Vec::new();
    for name in kind.required_env() {
        match env(name).filter(|v| !v.is_empty()) {
            Some(value) => values.push(value),
            None => missing.push(*name),
        }
    }
    if missing.is_empty() {
        Ok(values)
    } else {
        Err(EnvError::Missing {
            handler: kind.name(),
            names: missing,
        })
    }
}

/// `TXDEPLOY_HANDLER`, parsed.
pub fn handler_kind(env: EnvLookup<'_>) -> Result<HandlerKind, EnvError> {
    let value = env(HANDLER_VAR);
    value
        .as_deref()
        .and_then(HandlerKind::parse)
        .ok_or(EnvError::UnknownHandler(value))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in HandlerKind::ALL {
            assert_eq!(HandlerKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(HandlerKind::parse("Transaction-Validator"), None);
    }

    #[test]
    fn missing_variables_are_all_named_in_one_error() {
        let env = |name: &str| (name == "TRANSACTIONS_TABLE").then(|| "t".to_owned());
        let err = required(HandlerKind::TransactionValidator, &env).unwrap_err();
        let text = err.to_string();
        for name in [
            "ANALYTICS_QUEUE_URL",
            "REPORTING_QUEUE_URL",
            "NOTIFICATION_FUNCTION",
            "PAGINATION_KEY",
        ] {
            assert!(text.contains(&format!("`{name}`")), "{text}");
        }
        assert!(!text.contains("`TRANSACTIONS_TABLE`"));
        assert_eq!(
            required(HandlerKind::AnalyticsProcessor, &env).unwrap(),
            vec!["t".to_owned()]
        );
    }

    #[test]
    fn an_unknown_handler_lists_the_valid_ones() {
        let env = |_: &str| Some("nope".to_owned());
        let text = handler_kind(&env).unwrap_err().to_string();
        assert!(
            text.contains("`nope`") && text.contains("reporting-processor"),
            "{text}"
        );
        assert!(
            handler_kind(&|_: &str| None)
                .unwrap_err()
                .to_string()
                .contains("unset")
        );
    }
}
