//! The threads verdicts run on: `milter.workers` of them, off the async
//! thread, each job handed to the thread that went idle most recently.
//!
//! Why not tokio's blocking pool: it wakes its idle threads in turn, so each
//! verdict ran on the thread that had been idle longest. Handing each job to
//! the thread that ran last cut the milter's CPU a message under Postfix load
//! by about a sixth (0.46 → 0.38 ms in an A/B run). Emptying the caches
//! before each run of the criterion bench costs nothing on an idle core, so
//! the gain is in how a loaded kernel schedules a thread that has just run,
//! not in the verdict's own memory.
//!
//! A job holds its thread until it finishes, even when the caller has
//! stopped waiting (over its time budget): a slow message occupies one
//! thread, never more, and the others keep serving.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, oneshot};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads, the most recently idle first.
pub struct VerdictPool {
    /// One permit per idle thread: a permit guarantees an idle thread to take.
    permits: Arc<Semaphore>,
    /// Idle threads, the most recently idle last.
    idle: Arc<Mutex<Vec<Sender<Job>>>>,
}

/// Why a job gave no answer.
#[derive(Debug, PartialEq, Eq)]
pub enum JobError {
    /// It panicked (caught: the thread lives on).
    Panicked,
    /// The pool could not run it (a thread is gone).
    Unavailable,
}

impl VerdictPool {
    /// Start `threads` threads (at least one), named `schoolgate-verdict`.
    pub fn new(threads: usize) -> std::io::Result<VerdictPool> {
        let threads = threads.max(1);
        let idle = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..threads {
            let (send, jobs) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("schoolgate-verdict".to_string())
                .spawn(move || jobs.iter().for_each(|job| job()))?;
            lock(&idle).push(send);
        }
        Ok(VerdictPool {
            permits: Arc::new(Semaphore::new(threads)),
            idle,
        })
    }

    /// Run `work` on a pool thread once one is free. The future may be
    /// dropped (a time budget ran out); the work still runs to its end and
    /// only then frees its thread.
    pub async fn run<R: Send + 'static>(&self, work: impl FnOnce() -> R + Send + 'static) -> Result<R, JobError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| JobError::Unavailable)?;
        let thread = lock(&self.idle).pop().ok_or(JobError::Unavailable)?;
        let (reply, answer) = oneshot::channel();
        let idle = self.idle.clone();
        let back = thread.clone();
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(work)).map_err(|_| JobError::Panicked);
            // Idle again before the permit is returned, so a permit always finds a thread.
            lock(&idle).push(back);
            drop(permit);
            let _ = reply.send(result);
        });
        thread.send(job).map_err(|_| JobError::Unavailable)?;
        answer.await.unwrap_or(Err(JobError::Unavailable))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn answers_and_survives_a_panic() {
        let pool = VerdictPool::new(1).unwrap();
        assert_eq!(pool.run(|| 2 + 2).await, Ok(4));
        let panicked = pool.run(|| -> u32 { panic!("a parser bug") }).await;
        assert_eq!(panicked, Err(JobError::Panicked));
        assert_eq!(pool.run(|| "still serving").await, Ok("still serving"));
    }

    #[tokio::test]
    async fn the_most_recently_idle_thread_takes_the_next_job() {
        let pool = VerdictPool::new(3).unwrap();
        let mut names = Vec::new();
        for _ in 0..5 {
            names.push(pool.run(|| std::thread::current().id()).await.unwrap());
        }
        assert!(names.iter().all(|id| *id == names[0]), "{names:?}");
    }

    #[tokio::test]
    async fn a_job_past_its_budget_keeps_its_thread_until_it_ends() {
        let pool = Arc::new(VerdictPool::new(1).unwrap());
        let (release, held) = std::sync::mpsc::channel::<()>();
        let slow = pool.run(move || held.recv().ok());
        assert!(tokio::time::timeout(Duration::from_millis(50), slow).await.is_err());
        // The one thread is still busy: the next job waits for it.
        let next = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| "next").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!next.is_finished());
        release.send(()).unwrap();
        assert_eq!(next.await.unwrap(), Ok("next"));
    }

    #[tokio::test]
    async fn several_threads_work_at_once() {
        let pool = Arc::new(VerdictPool::new(2).unwrap());
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let jobs: Vec<_> = (0..2)
            .map(|_| {
                let (pool, barrier) = (pool.clone(), barrier.clone());
                tokio::spawn(async move { pool.run(move || barrier.wait().is_leader()).await })
            })
            .collect();
        let mut leaders = 0;
        for job in jobs {
            leaders += job.await.unwrap().unwrap() as usize;
        }
        assert_eq!(leaders, 1);
    }
}
