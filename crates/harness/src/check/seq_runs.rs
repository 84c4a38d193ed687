//! A set of sequence numbers kept as runs of consecutive numbers: what a client saw of a room
//! costs memory in proportion to its gaps, not to the messages it received.

use std::collections::BTreeMap;
use std::time::Duration;

/// Sequence numbers, each with the time it was first added; only the time of each run's first
/// number is kept (all a gap report needs: when the number after a gap arrived).
#[derive(Debug, Default, Clone)]
pub(crate) struct SeqRuns {
    /// Run start → (run end, inclusive; when the start was first added).
    runs: BTreeMap<u64, (u64, Duration)>,
}

/// A hole between two runs: the missing numbers `from..=to`, then the next number present and
/// when it was first added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hole {
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) next: u64,
    pub(crate) next_at: Duration,
}

impl SeqRuns {
    /// Adds `seq`, first seen at `t` (a number already present keeps its time); whether it
    /// was new.
    pub(crate) fn insert(&mut self, seq: u64, t: Duration) -> bool {
        let left = self
            .runs
            .range(..=seq)
            .next_back()
            .map(|(&start, &(end, at))| (start, end, at));
        if let Some((_, end, _)) = left {
            if end >= seq {
                return false;
            }
        }
        let joins_left = left.filter(|&(_, end, _)| end + 1 == seq);
        let right = seq
            .checked_add(1)
            .and_then(|next| self.runs.get(&next).map(|&(end, _)| end));
        match (joins_left, right) {
            (Some((start, _, at)), Some(right_end)) => {
                self.runs.remove(&(seq + 1));
                self.runs.insert(start, (right_end, at));
            }
            (Some((start, _, at)), None) => {
                self.runs.insert(start, (seq, at));
            }
            (None, Some(right_end)) => {
                self.runs.remove(&(seq + 1));
                self.runs.insert(seq, (right_end, t));
            }
            (None, None) => {
                self.runs.insert(seq, (seq, t));
            }
        }
        true
    }

    /// Whether `seq` is present.
    pub(crate) fn contains(&self, seq: u64) -> bool {
        self.runs
            .range(..=seq)
            .next_back()
            .is_some_and(|(_, &(end, _))| end >= seq)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Closes every hole whose next number was first added before `t` (it has been judged):
    /// the runs on either side become one, so a long session costs as many runs as its
    /// recent holes.
    pub(crate) fn close_holes_before(&mut self, t: Duration) {
        let closing: Vec<u64> = self
            .runs
            .iter()
            .skip(1)
            .filter(|(_, &(_, at))| at < t)
            .map(|(&start, _)| start)
            .collect();
        for start in closing {
            let Some((end, _)) = self.runs.remove(&start) else {
                continue;
            };
            if let Some((_, (left_end, _))) = self.runs.range_mut(..start).next_back() {
                *left_end = end;
            }
        }
    }

    /// Takes every number below `n` as present (they will not be asked about again): the
    /// runs below it become one.
    pub(crate) fn fill_below(&mut self, n: u64) {
        let below: Vec<u64> = self.runs.range(..n).map(|(&start, _)| start).collect();
        let Some(&first) = below.first() else {
            return;
        };
        let mut end = n.saturating_sub(1);
        let mut at = Duration::ZERO;
        for start in below {
            if let Some((e, t)) = self.runs.remove(&start) {
                end = end.max(e);
                if start == first {
                    at = t;
                }
            }
        }
        // A run starting right after joins it.
        if let Some((right_end, _)) = end.checked_add(1).and_then(|next| self.runs.remove(&next)) {
            end = right_end;
        }
        self.runs.insert(0, (end, at));
    }

    /// The holes between the smallest and the largest number, in order.
    pub(crate) fn holes(&self) -> impl Iterator<Item = Hole> + '_ {
        self.runs.iter().zip(self.runs.iter().skip(1)).map(
            |((_, &(end, _)), (&next, &(_, next_at)))| Hole {
                from: end + 1,
                to: next - 1,
                next,
                next_at,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn runs_merge_and_holes_report_the_next_number_and_its_time() {
        let mut s = SeqRuns::default();
        assert!(s.is_empty());
        for (seq, t) in [(1, 1), (2, 2), (5, 5), (7, 7), (6, 60), (3, 30), (2, 99)] {
            s.insert(seq, ms(t));
        }
        // Runs 1..=3 and 5..=7: one hole, 4, followed by 5 first seen at 5 ms.
        assert_eq!(
            s.holes().collect::<Vec<_>>(),
            [Hole {
                from: 4,
                to: 4,
                next: 5,
                next_at: ms(5)
            }]
        );
        s.insert(4, ms(40));
        assert_eq!(s.holes().count(), 0);
        assert_eq!(s.runs.len(), 1, "one run 1..=7");
    }

    #[test]
    fn a_number_joining_only_the_run_after_it_takes_the_start() {
        let mut s = SeqRuns::default();
        s.insert(10, ms(1));
        s.insert(9, ms(2));
        s.insert(5, ms(3));
        assert_eq!(
            s.holes().collect::<Vec<_>>(),
            [Hole {
                from: 6,
                to: 8,
                next: 9,
                next_at: ms(2)
            }]
        );
    }

    #[test]
    fn closing_holes_merges_the_runs_around_them() {
        let mut runs = SeqRuns::default();
        for (seq, t) in [(1, 1), (2, 1), (5, 10), (9, 20), (12, 30)] {
            runs.insert(seq, ms(t));
        }
        assert_eq!(runs.holes().count(), 3);
        runs.close_holes_before(ms(20));
        // 3..=4 (closed at 10) is closed; 6..=8 (at 20) and 10..=11 (at 30) are not.
        let holes: Vec<(u64, u64)> = runs.holes().map(|h| (h.from, h.to)).collect();
        assert_eq!(holes, [(6, 8), (10, 11)]);
        assert!(runs.contains(3), "a closed hole counts as seen");
        runs.close_holes_before(ms(31));
        assert_eq!(runs.holes().count(), 0);
        assert!(runs.contains(12) && !runs.contains(13));
    }

    #[test]
    fn filling_below_a_number_makes_one_run_of_everything_below() {
        let mut runs = SeqRuns::default();
        for seq in [1, 3, 5, 6, 9] {
            runs.insert(seq, ms(seq));
        }
        runs.fill_below(6);
        assert!((0..=6).all(|s| runs.contains(s)));
        assert!(!runs.contains(7) && runs.contains(9));
        assert_eq!(runs.holes().count(), 1);
        runs.fill_below(9);
        assert!(runs.contains(8) && runs.holes().count() == 0);
        runs.fill_below(3);
        assert!(runs.contains(9) && !runs.contains(10));
    }

    #[test]
    fn insert_says_whether_a_number_is_new_and_contains_agrees() {
        let mut s = SeqRuns::default();
        assert!(s.insert(3, ms(1)) && s.insert(5, ms(2)) && s.insert(4, ms(3)));
        assert!(!s.insert(4, ms(4)) && !s.insert(3, ms(5)) && !s.insert(5, ms(6)));
        assert!(s.insert(0, ms(7)) && s.insert(u64::MAX, ms(8)));
        for (seq, present) in [(0, true), (1, false), (2, false), (3, true), (4, true)] {
            assert_eq!(s.contains(seq), present, "{seq}");
        }
        assert!(s.contains(5) && !s.contains(6) && s.contains(u64::MAX));
        assert_eq!(s.runs.len(), 3, "0, 3..=5, MAX");
    }
}
