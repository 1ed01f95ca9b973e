//! What a worker's renders share: its render slots (one per core by default) and its memory
//! budget. A render is admitted with its estimated peak memory (`pipeline::cost`): it first
//! waits for that much of the budget, then for a slot, and gives both back when it ends. A
//! render over the whole budget is refused at once rather than left to wait forever, and the
//! budget keeps two bombs from taking the worker's memory together.
//!
//! Memory is counted in MiB (a semaphore's permits), rounded up per render.

use tokio::sync::{Semaphore, SemaphorePermit};

const MIB: u64 = 1024 * 1024;

/// The render slots and the memory budget of one worker process.
#[derive(Debug)]
pub struct Capacity {
    slots: Semaphore,
    memory: Semaphore,
    budget_mib: u32,
}

/// A render's hold on a slot and on its share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Admitted<'a> {
    _memory: SemaphorePermit<'a>,
    _slot: SemaphorePermit<'a>,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        metrics::gauge!("ferrotype_render_slots_busy").decrement(1.0);
    }
}

/// Why a render was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Its estimate alone is over the whole budget.
    OverBudget { needed_mib: u64, budget_mib: u64 },
    /// The worker is going away.
    Closed,
}

impl Capacity {
    /// `slots` renders at once, within `budget_mib` MiB together.
    pub fn new(slots: usize, budget_mib: u64) -> Capacity {
        let budget_mib = u32::try_from(budget_mib.max(1)).unwrap_or(u32::MAX);
        metrics::gauge!("ferrotype_render_slots").increment(slots.max(1) as f64);
        Capacity {
            slots: Semaphore::new(slots.max(1)),
            memory: Semaphore::new(usize::try_from(budget_mib).unwrap_or(usize::MAX)),
            budget_mib,
        }
    }

    /// The whole memory budget, in MiB.
    pub fn budget_mib(&self) -> u64 {
        u64::from(self.budget_mib)
    }

    /// `Err` when a render estimated at `bytes` could never be admitted.
    pub fn check(&self, bytes: u64) -> Result<(), Refusal> {
        let needed_mib = bytes.div_ceil(MIB);
        if needed_mib > self.budget_mib() {
            return Err(Refusal::OverBudget {
                needed_mib,
                budget_mib: self.budget_mib(),
            });
        }
        Ok(())
    }

    /// Waits for room for a render estimated at `bytes` (capped at the whole budget: a batch
    /// whose pipelines each fit runs alone), then for a slot.
    pub async fn admit(&self, bytes: u64) -> Result<Admitted<'_>, Refusal> {
        let needed = u32::try_from(bytes.div_ceil(MIB))
            .unwrap_or(u32::MAX)
            .clamp(1, self.budget_mib);
        let memory = self
            .memory
            .acquire_many(needed)
            .await
            .map_err(|_| Refusal::Closed)?;
        let slot = self.slots.acquire().await.map_err(|_| Refusal::Closed)?;
        metrics::gauge!("ferrotype_render_slots_busy").increment(1.0);
        Ok(Admitted {
            _memory: memory,
            _slot: slot,
        })
    }

    /// MiB of the budget not held by a render right now.
    pub fn free_mib(&self) -> u64 {
        u64::try_from(self.memory.available_permits()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn renders_wait_for_room_and_one_over_the_budget_is_refused() {
        let capacity = Capacity::new(4, 100);
        assert_eq!(
            capacity.check(101 * MIB),
            Err(Refusal::OverBudget {
                needed_mib: 101,
                budget_mib: 100
            })
        );
        let first = capacity.admit(60 * MIB).await.unwrap();
        assert_eq!(capacity.free_mib(), 40);
        let second = tokio::time::timeout(Duration::from_millis(50), capacity.admit(60 * MIB));
        assert!(
            second.await.is_err(),
            "the second waits while the first holds 60 MiB"
        );
        drop(first);
        let second = capacity.admit(60 * MIB).await.unwrap();
        let small = capacity.admit(1).await.unwrap();
        assert_eq!(capacity.free_mib(), 39);
        drop((second, small));
        assert_eq!(capacity.free_mib(), 100);
    }

    #[tokio::test]
    async fn slots_bound_renders_even_when_memory_is_free() {
        let capacity = Capacity::new(1, 1000);
        let first = capacity.admit(MIB).await.unwrap();
        let second = tokio::time::timeout(Duration::from_millis(50), capacity.admit(MIB));
        assert!(second.await.is_err());
        drop(first);
        assert!(capacity.admit(MIB).await.is_ok());
    }
}
