//! Decoding ahead of the model: `work(i)` runs for `i` in `0..n` on worker threads, at most a
//! fixed window of items ahead of the consumer, and the results come back in input order.
//!
//! Memory is the window (preprocessed images waiting for the model) plus what each worker
//! holds while it decodes, whatever `n` is. The consumer (the forward pass) and the workers
//! run at once: while the model runs on one batch, the next is being decoded.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::Error;

/// What the consumer says after each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Give me the next item.
    Continue,
    /// Stop: workers finish what they hold and start nothing more.
    Stop,
}

struct State<T> {
    /// The next index a worker will claim.
    next: usize,
    /// Items the consumer has taken (all below this index).
    consumed: usize,
    /// Finished items not yet taken; `Err` when the work panicked.
    done: BTreeMap<usize, std::thread::Result<T>>,
    stop: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Workers wait here for room in the window.
    room: Condvar,
    /// The consumer waits here for the item it needs.
    ready: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How many worker threads and how far ahead they may run.
#[derive(Debug, Clone, Copy)]
pub struct Ahead {
    /// Worker threads (at least 1).
    pub workers: usize,
    /// Items claimed but not yet taken by the consumer, at most (at least `workers`).
    pub window: usize,
}

/// Runs `work(i)` for every `i` in `0..n` on [`Ahead::workers`] threads and hands the results
/// to `consume(i, result)` in order `0, 1, 2, ...` on the calling thread. Workers never run
/// more than [`Ahead::window`] items ahead of `consume`. `consume` returning [`Flow::Stop`]
/// or an error ends the run early (workers finish the item they hold and stop); its error is
/// returned. A panic in `work` (or a thread that cannot be started) is an [`Error::Io`]
/// naming the item, never a hang.
pub fn ordered<T, W, C, E>(n: usize, ahead: Ahead, work: W, mut consume: C) -> Result<(), E>
where
    T: Send,
    W: Fn(usize) -> T + Sync,
    C: FnMut(usize, T) -> Result<Flow, E>,
    E: From<Error>,
{
    let workers = ahead.workers.clamp(1, n.max(1));
    let window = ahead.window.max(workers);
    let shared = Shared {
        state: Mutex::new(State {
            next: 0,
            consumed: 0,
            done: BTreeMap::new(),
            stop: false,
        }),
        room: Condvar::new(),
        ready: Condvar::new(),
    };
    let stop_all = |shared: &Shared<T>| {
        shared.lock().stop = true;
        shared.room.notify_all();
    };
    std::thread::scope(|scope| {
        for k in 0..workers {
            let shared = &shared;
            let work = &work;
            std::thread::Builder::new()
                .name(format!("vitrs-decode-{k}"))
                .spawn_scoped(scope, move || loop {
                    let i = {
                        let mut s = shared.lock();
                        while !s.stop && s.next < n && s.next >= s.consumed + window {
                            s = shared.room.wait(s).unwrap_or_else(|e| e.into_inner());
                        }
                        if s.stop || s.next >= n {
                            return;
                        }
                        s.next += 1;
                        s.next - 1
                    };
                    let result = catch_unwind(AssertUnwindSafe(|| work(i)));
                    shared.lock().done.insert(i, result);
                    shared.ready.notify_one();
                })
                .map_err(|e| Error::io("starting a decoding thread", "", e))?;
        }
        let result = (|| {
            for i in 0..n {
                let item = {
                    let mut s = shared.lock();
                    loop {
                        if let Some(r) = s.done.remove(&i) {
                            s.consumed = i + 1;
                            break r;
                        }
                        s = shared.ready.wait(s).unwrap_or_else(|e| e.into_inner());
                    }
                };
                shared.room.notify_all();
                let item = item.map_err(|_| {
                    Error::io(
                        format!("decoding item {i} panicked"),
                        "",
                        std::io::Error::other("a decoding thread panicked"),
                    )
                })?;
                if consume(i, item)? == Flow::Stop {
                    break;
                }
            }
            Ok(())
        })();
        stop_all(&shared);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn results_come_in_order_and_workers_stay_within_the_window() {
        let in_flight = AtomicUsize::new(0);
        let taken = AtomicUsize::new(0);
        let ahead = Ahead {
            workers: 3,
            window: 5,
        };
        let mut got = Vec::new();
        ordered::<_, _, _, Error>(
            100,
            ahead,
            |i| {
                // Claimed items never run more than the window ahead of the consumer (item
                // `t` is taken, making room, just before `consume` records it).
                let t = taken.load(Ordering::SeqCst);
                assert!(i < t + 1 + 5, "item {i} claimed with {t} taken");
                in_flight.fetch_add(1, Ordering::SeqCst);
                // Uneven work, so items finish out of order.
                let mut x = 0u64;
                for k in 0..((i * 7919) % 13) * 1000 {
                    x = x.wrapping_add(k as u64);
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
                (i, x)
            },
            |i, (j, _)| {
                assert_eq!(i, j);
                got.push(i);
                taken.store(i + 1, Ordering::SeqCst);
                Ok(Flow::Continue)
            },
        )
        .unwrap();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn stopping_early_and_panics_end_the_run_without_a_hang() {
        let started = AtomicUsize::new(0);
        let ahead = Ahead {
            workers: 2,
            window: 4,
        };
        ordered::<_, _, _, Error>(
            1000,
            ahead,
            |i| {
                started.fetch_add(1, Ordering::SeqCst);
                i
            },
            |i, _| Ok(if i == 9 { Flow::Stop } else { Flow::Continue }),
        )
        .unwrap();
        // Stopped at item 9: at most the window beyond it was ever started.
        assert!(started.load(Ordering::SeqCst) <= 10 + 4);

        let e = ordered::<_, _, _, Error>(
            10,
            ahead,
            |i| {
                if i == 3 {
                    panic!("bad item")
                }
                i
            },
            |_, _| Ok(Flow::Continue),
        )
        .unwrap_err();
        assert!(e.to_string().contains("item 3"), "{e}");

        let e = ordered::<_, _, _, Error>(
            10,
            ahead,
            |i| i,
            |i, _| {
                if i < 5 {
                    Ok(Flow::Continue)
                } else {
                    Err(Error::option("--test", "five"))
                }
            },
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "five");
    }
}
