//! The demo's time: a clock the loader moves through the demo company's past, and a timeline that lets
//! the demo's stories (one per train) take turns in time order, so that every change is made at its
//! moment and the audit log's times never go back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

/// A clock that runs at the wall clock's pace from wherever the loader last set it, never backwards
/// and never past the wall clock.
#[derive(Clone)]
pub struct DemoClock {
    /// The demo time last set, and the wall-clock time it was set at.
    base: Arc<Mutex<(DateTime<Utc>, DateTime<Utc>)>>,
}

impl DemoClock {
    pub fn starting_at(at: DateTime<Utc>) -> DemoClock {
        DemoClock { base: Arc::new(Mutex::new((at.min(Utc::now()), Utc::now()))) }
    }

    fn base(&self) -> MutexGuard<'_, (DateTime<Utc>, DateTime<Utc>)> {
        self.base.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn now(&self) -> DateTime<Utc> {
        let wall = Utc::now();
        let (demo, set_at) = *self.base();
        (demo + (wall - set_at)).min(wall)
    }

    /// Moves the clock to `at` (no earlier than it is now, no later than the wall clock).
    pub fn set(&self, at: DateTime<Utc>) {
        let wall = Utc::now();
        let mut base = self.base();
        let current = (base.0 + (wall - base.1)).min(wall);
        *base = (at.max(current).min(wall), wall);
    }

    /// The clock as the service takes it.
    pub fn for_service(&self) -> railyard_service::Clock {
        let clock = self.clone();
        Arc::new(move || clock.now())
    }
}

/// Stories taking turns: each says when it acts next ([`Timeline::at`]); when every story is waiting,
/// the earliest goes on, with the clock set to its time. One story runs at a time.
pub struct Timeline {
    clock: DemoClock,
    state: Mutex<Turns>,
}

#[derive(Default)]
struct Turns {
    /// Stories running now (not waiting for their turn).
    running: usize,
    /// Waiting stories by (time, arrival), each woken through its sender.
    waiting: BTreeMap<(DateTime<Utc>, u64), oneshot::Sender<()>>,
    arrivals: u64,
}

impl Turns {
    /// When no story runs, the earliest waiting one goes on.
    fn next(&mut self, clock: &DemoClock) {
        if self.running > 0 {
            return;
        }
        if let Some(((at, _), wake)) = self.waiting.pop_first() {
            clock.set(at);
            self.running += 1;
            let _ = wake.send(());
        }
    }
}

impl Timeline {
    /// A timeline for `stories` stories, which all start running.
    pub fn new(clock: DemoClock, stories: usize) -> Timeline {
        Timeline { clock, state: Mutex::new(Turns { running: stories, ..Turns::default() }) }
    }

    fn turns(&self) -> MutexGuard<'_, Turns> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for this story's turn at `at`; the clock then reads `at` (or later, when another story
    /// already went past it).
    pub async fn at(&self, at: DateTime<Utc>) {
        let rx = {
            let mut turns = self.turns();
            let (tx, rx) = oneshot::channel();
            turns.arrivals += 1;
            let key = (at, turns.arrivals);
            turns.waiting.insert(key, tx);
            turns.running = turns.running.saturating_sub(1);
            turns.next(&self.clock);
            rx
        };
        let _ = rx.await;
    }

    /// A story ended (or failed): the others go on.
    pub fn done(&self) {
        let mut turns = self.turns();
        turns.running = turns.running.saturating_sub(1);
        turns.next(&self.clock);
    }

    pub fn clock(&self) -> &DemoClock {
        &self.clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_never_goes_back_nor_past_the_wall_clock() {
        let start = Utc::now() - chrono::Duration::days(100);
        let clock = DemoClock::starting_at(start);
        assert!(clock.now() >= start && clock.now() < start + chrono::Duration::seconds(5));
        clock.set(start + chrono::Duration::days(10));
        let later = clock.now();
        assert!(later >= start + chrono::Duration::days(10));
        clock.set(start);
        assert!(clock.now() >= later, "set to an earlier time, the clock stays where it was");
        clock.set(Utc::now() + chrono::Duration::days(3));
        assert!(clock.now() <= Utc::now(), "the clock never runs ahead of the wall clock");
    }

    #[tokio::test]
    async fn stories_take_turns_in_time_order() {
        let start = Utc::now() - chrono::Duration::days(30);
        let day = |d: i64| start + chrono::Duration::days(d);
        let timeline = Timeline::new(DemoClock::starting_at(start), 2);
        let seen = Mutex::new(Vec::new());
        let story = |name: &'static str, days: &'static [i64]| {
            let (timeline, seen) = (&timeline, &seen);
            async move {
                for d in days {
                    timeline.at(day(*d)).await;
                    seen.lock().unwrap().push((name, *d, timeline.clock().now()));
                    tokio::task::yield_now().await;
                }
                timeline.done();
            }
        };
        tokio::join!(story("a", &[1, 5, 9]), story("b", &[2, 3, 10]));
        let seen = seen.into_inner().unwrap();
        let order: Vec<i64> = seen.iter().map(|s| s.1).collect();
        assert_eq!(order, [1, 2, 3, 5, 9, 10]);
        for (_, d, at) in &seen {
            assert!(*at >= day(*d) && *at < day(*d) + chrono::Duration::seconds(5), "day {d} at {at}");
        }
    }
}
