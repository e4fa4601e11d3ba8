//! `CanaryPolicy`: how much traffic a new version gets and for how long, parsed from
//! `--canary 10%:5m` or `deploy.canary`.

use std::fmt;
use std::time::Duration;

/// The longest canary window: an apply holds the stack lock for the whole window, so a
/// longer one belongs to a separate release process.
pub const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// What `deploy.canary` accepts, for messages.
pub const FORMAT: &str = "`WEIGHT%:DURATION` such as `10%:5m`, or `off`";

/// Shift `weight_percent` of each moved alias's traffic to the new version for `window`,
/// then promote unless a watched alarm fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanaryPolicy {
    /// 1..=99: 0 would test nothing and 100 is a plain release.
    pub weight_percent: u8,
    pub window: Duration,
}

/// Why a canary setting was refused: the rule it broke and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{rule}; {fix}")]
pub struct PolicyError {
    pub rule: String,
    pub fix: String,
}

impl PolicyError {
    fn new(rule: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            rule: rule.into(),
            fix: fix.into(),
        }
    }
}

impl CanaryPolicy {
    /// Parses `10%:5m` (durations in `s`, `m` or `h`, combinable as `1m30s`); `off` (or an
    /// empty string) is no canary.
    pub fn parse(text: &str) -> Result<Option<Self>, PolicyError> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let Some((weight, window)) = text.split_once(':') else {
            return Err(PolicyError::new(
                format!("must be {FORMAT}"),
                "write the weight and the window separated by `:`, e.g. `10%:5m`",
            ));
        };
        let weight_percent = parse_weight(weight)?;
        let window = parse_duration(window)?;
        Ok(Some(Self {
            weight_percent,
            window,
        }))
    }

    /// The weight as Lambda's `AdditionalVersionWeights` wants it: 0.0..1.0.
    pub fn weight_fraction(self) -> f64 {
        f64::from(self.weight_percent) / 100.0
    }
}

impl fmt::Display for CanaryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%:{}", self.weight_percent, format_window(self.window))
    }
}

/// `5m`, `1m30s`, `2h`: the canonical spelling of a window.
pub fn format_window(window: Duration) -> String {
    let total = window.as_secs();
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

fn parse_weight(text: &str) -> Result<u8, PolicyError> {
    let digits = text.trim().strip_suffix('%').unwrap_or(text.trim());
    let Ok(n) = digits.parse::<u32>() else {
        return Err(PolicyError::new(
            format!("the weight `{text}` is not a whole percentage"),
            "use a whole number from 1 to 99 followed by `%`, e.g. `10%`",
        ));
    };
    match u8::try_from(n) {
        Ok(n @ 1..=99) => Ok(n),
        _ => Err(PolicyError::new(
            format!(
                "the weight {n}% must be between 1% and 99% (0% tests nothing, 100% is a \
                 plain release)"
            ),
            "use e.g. `10%`, or `off` to release without a canary",
        )),
    }
}

fn parse_duration(text: &str) -> Result<Duration, PolicyError> {
    let bad = || {
        PolicyError::new(
            format!("the window `{text}` is not a duration"),
            "use a number with a unit `s`, `m` or `h`, e.g. `5m` or `1m30s`",
        )
    };
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
    }
    if !number.is_empty() || text.trim().is_empty() {
        return Err(bad());
    }
    let window = Duration::from_secs(total);
    if window.is_zero() {
        return Err(PolicyError::new(
            "the window must be longer than 0 s: the alarms need time to see the new version",
            "use e.g. `5m`",
        ));
    }
    if window > MAX_WINDOW {
        return Err(PolicyError::new(
            format!(
                "the window `{text}` is longer than 24h (the apply holds the stack lock for \
                 the whole window)"
            ),
            "use at most `24h`",
        ));
    }
    Ok(window)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy(weight_percent: u8, secs: u64) -> Option<CanaryPolicy> {
        Some(CanaryPolicy {
            weight_percent,
            window: Duration::from_secs(secs),
        })
    }

    #[test]
    fn weights_and_windows_parse() {
        assert_eq!(CanaryPolicy::parse("10%:5m").unwrap(), policy(10, 300));
        assert_eq!(CanaryPolicy::parse(" 25%:1m30s ").unwrap(), policy(25, 90));
        assert_eq!(CanaryPolicy::parse("1:2h").unwrap(), policy(1, 7200));
        assert_eq!(CanaryPolicy::parse("99%:3s").unwrap(), policy(99, 3));
        assert_eq!(CanaryPolicy::parse("off").unwrap(), None);
        assert_eq!(CanaryPolicy::parse("OFF").unwrap(), None);
        assert_eq!(CanaryPolicy::parse("").unwrap(), None);
    }

    #[test]
    fn display_round_trips() {
        for text in ["10%:5m", "25%:1m30s", "5%:2h", "50%:3s", "7%:1h0m1s"] {
            let parsed = CanaryPolicy::parse(text).unwrap().unwrap();
            let again = CanaryPolicy::parse(&parsed.to_string()).unwrap().unwrap();
            assert_eq!(parsed, again, "{text}");
        }
        assert_eq!(
            CanaryPolicy::parse("10%:90s").unwrap().unwrap().to_string(),
            "10%:1m30s"
        );
    }

    #[test]
    fn bad_weights_are_refused_with_the_range() {
        for bad in ["0%:5m", "100%:5m", "250%:5m"] {
            let e = CanaryPolicy::parse(bad).unwrap_err();
            assert!(e.rule.contains("between 1% and 99%"), "{bad}: {e}");
        }
        for bad in ["abc:5m", "%:5m", "-5%:5m", "10.5%:5m"] {
            let e = CanaryPolicy::parse(bad).unwrap_err();
            assert!(e.rule.contains("not a whole percentage"), "{bad}: {e}");
            assert!(e.fix.contains("1 to 99"), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_windows_are_refused() {
        for bad in ["10%:", "10%:5", "10%:m", "10%:5d", "10%:five", "10%:5m3"] {
            let e = CanaryPolicy::parse(bad).unwrap_err();
            assert!(e.rule.contains("is not a duration"), "{bad}: {e}");
        }
        assert!(
            CanaryPolicy::parse("10%:0s")
                .unwrap_err()
                .rule
                .contains("longer than 0 s")
        );
        assert!(
            CanaryPolicy::parse("10%:25h")
                .unwrap_err()
                .rule
                .contains("longer than 24h")
        );
        assert!(
            CanaryPolicy::parse("10%")
                .unwrap_err()
                .fix
                .contains("separated by `:`")
        );
    }

    #[test]
    fn the_weight_is_a_fraction_for_lambda() {
        let p = CanaryPolicy::parse("10%:5m").unwrap().unwrap();
        assert!((p.weight_fraction() - 0.1).abs() < 1e-9);
    }
}
