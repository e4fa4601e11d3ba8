//! `wait_until`: polls an asynchronous AWS state (a bucket becoming visible, a function
//! becoming Active, a table or index finishing its backfill) with backoff and a deadline,
//! reporting progress through the step's context, without blocking any other step.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::{CloudError, StepContext};

/// One poll's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll<T> {
    /// The state was reached; the value is what the caller needs from it.
    Ready(T),
    /// Not yet; the text is the current state, shown as progress (`CREATING`, `backfilling 40 %`).
    Pending(String),
}

/// How long and how often to poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub deadline: Duration,
}

impl WaitPolicy {
    /// For states AWS usually reaches in seconds (bucket visible, function Active).
    pub const SHORT: WaitPolicy = WaitPolicy {
        first_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(5),
        deadline: Duration::from_secs(300),
    };

    /// For states that can take long (a GSI backfill on a large table, a cache cluster).
    pub const LONG: WaitPolicy = WaitPolicy {
        first_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(30),
        deadline: Duration::from_secs(6 * 3600),
    };
}

/// Polls `poll` until it is `Ready`, an error occurs, or the deadline passes.
///
/// Each `Pending` state is reported through `ctx.progress` with the time waited so far. A
/// timeout is a fatal error naming what was awaited and the last state seen, so the user
/// can look at it in the console and run the apply again.
pub async fn wait_until<T, F, Fut>(
    what: &str,
    ctx: &StepContext,
    policy: WaitPolicy,
    mut poll: F,
) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, CloudError>>,
{
    let started = Instant::now();
    let mut delay = policy.first_delay;
    loop {
        let state = match poll().await? {
            Poll::Ready(value) => return Ok(value),
            Poll::Pending(state) => state,
        };
        let waited = started.elapsed();
        if waited >= policy.deadline {
            return Err(CloudError::fatal(
                "txdeploy",
                "wait",
                format!(
                    "gave up waiting for {what} after {} s (last state: {state}); check it in \
                     the AWS console, then run the command again: it continues from there",
                    waited.as_secs()
                ),
            ));
        }
        ctx.progress(format!(
            "waiting for {what}: {state} ({} s)",
            waited.as_secs()
        ));
        tokio::time::sleep(delay.min(policy.deadline - waited)).await;
        delay = (delay * 2).min(policy.max_delay);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::cloud::ErrorClass;
    use crate::spec::Environment;

    fn ctx(progress: Arc<Mutex<Vec<String>>>) -> StepContext {
        let env = Environment {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
        };
        StepContext::new(
            env,
            BTreeMap::new(),
            Box::new(move |m| progress.lock().unwrap().push(m)),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn reports_each_pending_state_and_returns_the_ready_value() {
        let progress = Arc::new(Mutex::new(Vec::new()));
        let ctx = ctx(progress.clone());
        let mut states = vec![
            Poll::Ready(7),
            Poll::Pending("UPDATING".into()),
            Poll::Pending("CREATING".into()),
        ];
        let value = wait_until("the table", &ctx, WaitPolicy::SHORT, || {
            let next = states.pop().unwrap();
            async move { Ok(next) }
        })
        .await
        .unwrap();
        assert_eq!(value, 7);
        let progress = progress.lock().unwrap();
        assert_eq!(progress.len(), 2);
        assert!(
            progress[0].starts_with("waiting for the table: CREATING"),
            "{progress:?}"
        );
        assert!(
            progress[1].starts_with("waiting for the table: UPDATING"),
            "{progress:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline_naming_the_last_state() {
        let ctx = ctx(Arc::new(Mutex::new(Vec::new())));
        let started = Instant::now();
        let err = wait_until(
            "index `merchant-date-index`",
            &ctx,
            WaitPolicy::SHORT,
            || async { Ok::<Poll<()>, CloudError>(Poll::Pending("backfilling".into())) },
        )
        .await
        .unwrap_err();
        assert_eq!(err.class, ErrorClass::Fatal);
        assert!(
            err.message.contains("index `merchant-date-index`"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("last state: backfilling"),
            "{}",
            err.message
        );
        assert!(started.elapsed() >= WaitPolicy::SHORT.deadline);
        assert!(started.elapsed() < WaitPolicy::SHORT.deadline + WaitPolicy::SHORT.max_delay);
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_while_polling_ends_the_wait_with_that_error() {
        let ctx = ctx(Arc::new(Mutex::new(Vec::new())));
        let err = wait_until("the bucket", &ctx, WaitPolicy::SHORT, || async {
            Err::<Poll<()>, _>(CloudError::from_parts(
                "s3",
                "HeadBucket",
                Some("AccessDenied"),
                Some(403),
                "no",
            ))
        })
        .await
        .unwrap_err();
        assert_eq!(err.operation, "HeadBucket");
    }
}
