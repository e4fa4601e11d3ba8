//! A one-line sparkline of a series over a time range: one character per time bucket, a
//! gap where the bucket has no point, so missing data never looks like zero.

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Draws `points` ((Unix s, value), oldest first) over `[start_s, end_s)` in `width` cells.
/// Each cell shows the highest value in its bucket; empty buckets are spaces.
pub fn render(points: &[(i64, f64)], start_s: i64, end_s: i64, width: usize) -> String {
    if width == 0 || end_s <= start_s {
        return String::new();
    }
    let span = end_s - start_s;
    let mut buckets: Vec<Option<f64>> = vec![None; width];
    let cells = i64::try_from(width).unwrap_or(i64::MAX);
    for (t, v) in points {
        if *t < start_s || *t >= end_s || !v.is_finite() {
            continue;
        }
        let cell = usize::try_from((t - start_s) * cells / span).unwrap_or(0);
        if let Some(slot) = buckets.get_mut(cell) {
            *slot = Some(slot.map_or(*v, |s: f64| s.max(*v)));
        }
    }
    let values = buckets.iter().flatten();
    let low = values
        .clone()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let high = values.copied().fold(f64::NEG_INFINITY, f64::max);
    buckets
        .iter()
        .map(|b| match b {
            None => ' ',
            Some(v) if high <= low => {
                // A flat series: all zeros sit on the floor, anything else mid-height.
                if *v == 0.0 { LEVELS[0] } else { LEVELS[3] }
            }
            Some(v) => {
                let level = ((v - low) / (high - low) * 7.0).round();
                // Bounded to 0..=7 above; the cast cannot truncate.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let index = level.clamp(0.0, 7.0) as usize;
                LEVELS[index]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_scale_from_zero_to_the_maximum() {
        let points: Vec<(i64, f64)> = (0..8).map(|i| (i * 60, i as f64)).collect();
        assert_eq!(render(&points, 0, 480, 8), "▁▂▃▄▅▆▇█");
    }

    #[test]
    fn gaps_are_blank_not_zero() {
        let points = [(0, 5.0), (420, 5.0)];
        assert_eq!(render(&points, 0, 480, 8), "█      █");
        let zeros = [(0, 0.0), (60, 0.0)];
        assert_eq!(render(&zeros, 0, 480, 8), "▁▁      ");
        assert_eq!(render(&[], 0, 480, 4), "    ");
    }

    #[test]
    fn a_bucket_shows_its_highest_point_and_out_of_range_points_are_ignored() {
        let points = [(0, 1.0), (10, 9.0), (70, 0.0), (-5, 100.0), (500, 100.0)];
        assert_eq!(render(&points, 0, 120, 2), "█▁");
    }
}
