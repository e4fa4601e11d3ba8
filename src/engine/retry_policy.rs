//! `RetryPolicy`: when to try a failed AWS call again, decided by its `ErrorClass` alone,
//! with capped exponential backoff, full jitter and a deadline.

use std::time::Duration;

use crate::cloud::{CloudError, ErrorClass};

/// How often and how long a step (or an observation) retries a failed call.
///
/// Delays follow "full jitter" exponential backoff: the delay before retry `n` is uniform in
/// `[0, min(max_delay, base_delay * 2^(n-1)))`, which spreads the retries of many parallel
/// steps hitting the same throttle instead of synchronising them. Only classes for which
/// `ErrorClass::is_retryable` holds are retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The backoff cap of the first retry; doubles on every further retry.
    pub base_delay: Duration,
    /// The largest backoff cap.
    pub max_delay: Duration,
    /// Attempts (the first call included) after which throttled, transient and conflict
    /// errors give up. Eventual-consistency errors are bounded by their deadline instead.
    pub max_attempts: u32,
    /// Time since the step started after which throttled, transient and conflict errors give
    /// up.
    pub deadline: Duration,
    /// Time since the step started after which eventual-consistency errors give up. Longer
    /// than `deadline`: AWS documents propagation delays (IAM, KMS grants) of minutes.
    pub eventual_consistency_deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            max_attempts: 10,
            deadline: Duration::from_secs(180),
            eventual_consistency_deadline: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt after `attempt` failed attempts, `elapsed` after
    /// the first one started; `None` means give up.
    ///
    /// The jitter is forked from fastrand's thread-local generator: on a current-thread
    /// runtime, `fastrand::seed` makes a whole apply reproducible (the fault tests do).
    pub fn next_delay(
        &self,
        class: ErrorClass,
        attempt: u32,
        elapsed: Duration,
    ) -> Option<Duration> {
        self.next_delay_with(class, attempt, elapsed, &mut fastrand::Rng::new())
    }

    /// `next_delay` with the jitter drawn from `rng`, so tests (and simulations) are
    /// deterministic.
    pub fn next_delay_with(
        &self,
        class: ErrorClass,
        attempt: u32,
        elapsed: Duration,
        rng: &mut fastrand::Rng,
    ) -> Option<Duration> {
        if !class.is_retryable() {
            return None;
        }
        let deadline = self.deadline_for(class);
        if elapsed >= deadline {
            return None;
        }
        if class != ErrorClass::EventuallyConsistent && attempt >= self.max_attempts {
            return None;
        }
        let delay = self.backoff_cap(attempt).mul_f64(rng.f64());
        // Never sleep past the deadline: the last attempt happens right at it.
        Some(delay.min(deadline - elapsed))
    }

    /// The deadline that applies to `class`.
    pub fn deadline_for(&self, class: ErrorClass) -> Duration {
        if class == ErrorClass::EventuallyConsistent {
            self.eventual_consistency_deadline
        } else {
            self.deadline
        }
    }

    /// Why a retryable error was given up, for the message the user sees.
    pub fn give_up_reason(&self, class: ErrorClass, attempt: u32, elapsed: Duration) -> String {
        if !class.is_retryable() {
            return format!("{class} errors are not retried");
        }
        let deadline = self.deadline_for(class);
        let which = if class == ErrorClass::EventuallyConsistent {
            "eventual-consistency deadline"
        } else {
            "retry deadline"
        };
        if elapsed >= deadline || class == ErrorClass::EventuallyConsistent {
            format!(
                "still failing after {attempt} attempts over {:.1} s, past the {which} of {} s",
                elapsed.as_secs_f64(),
                deadline.as_secs()
            )
        } else {
            format!(
                "still failing after {attempt} attempts (the limit is {})",
                self.max_attempts
            )
        }
    }

    /// The error to report once `error` is given up: the same error, its message saying
    /// which limit was hit so the user knows retrying was tried.
    pub fn exhausted(&self, error: CloudError, attempt: u32, elapsed: Duration) -> CloudError {
        if !error.class.is_retryable() {
            return error;
        }
        let reason = self.give_up_reason(error.class, attempt, elapsed);
        CloudError {
            message: format!("{}; {reason}", error.message),
            ..error
        }
    }

    /// The upper bound of the jittered delay before retry number `attempt`.
    fn backoff_cap(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        self.base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_attempts: 5,
            deadline: Duration::from_secs(30),
            eventual_consistency_deadline: Duration::from_secs(120),
        }
    }

    #[test]
    fn delays_stay_under_a_cap_that_doubles_up_to_the_maximum() {
        let policy = policy();
        let mut rng = fastrand::Rng::with_seed(7);
        let caps_ms = [100, 200, 400, 800];
        for (i, cap) in caps_ms.into_iter().enumerate() {
            let attempt = u32::try_from(i + 1).unwrap();
            let mut largest = Duration::ZERO;
            for _ in 0..200 {
                let d = policy
                    .next_delay_with(ErrorClass::Throttled, attempt, Duration::ZERO, &mut rng)
                    .unwrap();
                assert!(
                    d < Duration::from_millis(cap),
                    "attempt {attempt}: {d:?} >= {cap} ms"
                );
                largest = largest.max(d);
            }
            // Full jitter uses the whole range, not just its bottom.
            assert!(
                largest > Duration::from_millis(cap * 3 / 4),
                "attempt {attempt}: {largest:?}"
            );
        }
        let ec = |attempt| {
            policy.next_delay_with(
                ErrorClass::EventuallyConsistent,
                attempt,
                Duration::ZERO,
                &mut fastrand::Rng::with_seed(1),
            )
        };
        assert!(
            ec(40).unwrap() < Duration::from_secs(2),
            "the cap stops at max_delay"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_delays() {
        let policy = policy();
        let draw = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            (1..5)
                .map(|a| policy.next_delay_with(ErrorClass::Transient, a, Duration::ZERO, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
    }

    #[test]
    fn only_retryable_classes_are_retried() {
        let policy = policy();
        let mut rng = fastrand::Rng::with_seed(3);
        for class in [
            ErrorClass::Throttled,
            ErrorClass::Transient,
            ErrorClass::Conflict,
        ] {
            assert!(
                policy
                    .next_delay_with(class, 1, Duration::ZERO, &mut rng)
                    .is_some()
            );
        }
        for class in [ErrorClass::Fatal, ErrorClass::NotFound] {
            assert_eq!(
                policy.next_delay_with(class, 1, Duration::ZERO, &mut rng),
                None
            );
        }
    }

    #[test]
    fn max_attempts_bounds_ordinary_errors_but_not_eventual_consistency() {
        let policy = policy();
        let mut rng = fastrand::Rng::with_seed(5);
        let early = Duration::from_secs(1);
        assert!(
            policy
                .next_delay_with(ErrorClass::Throttled, 4, early, &mut rng)
                .is_some()
        );
        assert_eq!(
            policy.next_delay_with(ErrorClass::Throttled, 5, early, &mut rng),
            None
        );
        assert!(
            policy
                .next_delay_with(ErrorClass::EventuallyConsistent, 50, early, &mut rng)
                .is_some()
        );
    }

    #[test]
    fn each_class_gives_up_at_its_deadline_and_never_sleeps_past_it() {
        let policy = policy();
        let mut rng = fastrand::Rng::with_seed(9);
        let at = Duration::from_secs;
        assert_eq!(
            policy.next_delay_with(ErrorClass::Throttled, 2, at(30), &mut rng),
            None
        );
        // Eventual consistency keeps going past the ordinary deadline...
        assert!(
            policy
                .next_delay_with(ErrorClass::EventuallyConsistent, 2, at(30), &mut rng)
                .is_some()
        );
        // ...until its own.
        assert_eq!(
            policy.next_delay_with(ErrorClass::EventuallyConsistent, 2, at(120), &mut rng),
            None
        );
        let close = Duration::from_millis(119_990);
        for _ in 0..50 {
            let d = policy
                .next_delay_with(ErrorClass::EventuallyConsistent, 20, close, &mut rng)
                .unwrap();
            assert!(
                d <= Duration::from_millis(10),
                "{d:?} sleeps past the deadline"
            );
        }
    }

    #[test]
    fn the_give_up_reason_names_the_limit_that_was_hit() {
        let policy = policy();
        let reason = policy.give_up_reason(
            ErrorClass::EventuallyConsistent,
            12,
            Duration::from_secs(121),
        );
        assert!(
            reason.contains("eventual-consistency deadline of 120 s"),
            "{reason}"
        );
        let reason = policy.give_up_reason(ErrorClass::Throttled, 5, Duration::from_secs(3));
        assert!(reason.contains("the limit is 5"), "{reason}");
    }
}
