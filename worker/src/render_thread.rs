//! Renders on threads of their own, at a lower CPU priority than the async threads.
//!
//! A render is pure CPU for up to seconds; the async threads answer HTTP requests, confirm
//! publishes and keep leases, each a few microseconds of work that must not wait a scheduler
//! slice behind a render. On Linux a thread's nice value is its own, so each render runs on a
//! fresh thread (a few tens of microseconds beside a render of milliseconds) niced by
//! [`RenderPriority`]; with every core rendering, the kernel still runs a waking request at once.
//! A fresh thread per render also means a render that runs away past its deadline holds only
//! its own thread, never one a later render needs.

use std::panic::AssertUnwindSafe;

/// How much lower than the process's own a render thread's priority is, as a nice increment
/// (0: the same as the async threads; 19 the most).
#[derive(Clone, Copy, Debug)]
pub struct RenderPriority {
    pub nice_increment: i32,
}

/// A render that never answered: it panicked, or its thread could not be started.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RenderCrashed(String);

/// Runs `render` on a new thread at `priority` and waits for its answer without blocking
/// the async threads. Dropping the returned future leaves the render to run out on its own
/// thread; its answer is dropped.
pub async fn run<T, F>(priority: RenderPriority, render: F) -> Result<T, RenderCrashed>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (answer, answered) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("ferrotype-render".into())
        .spawn(move || {
            lower_priority(priority);
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(render));
            // The waiter may be gone (its deadline passed): the answer is dropped.
            let _ = answer.send(outcome.map_err(|panic| panic_message(panic.as_ref())));
        })
        .map_err(|error| RenderCrashed(format!("cannot start a render thread: {error}")))?;
    match answered.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(RenderCrashed(format!("processing crashed: {message}"))),
        Err(_) => Err(RenderCrashed("processing crashed without an answer".into())),
    }
}

/// Lowers the calling thread's priority by the increment, within the kernel's range. A
/// refusal leaves the thread as it is: renders still run, only with no priority given up.
fn lower_priority(priority: RenderPriority) {
    if priority.nice_increment <= 0 {
        return;
    }
    let thread = Some(rustix::thread::gettid());
    let current = rustix::process::getpriority_process(thread).unwrap_or(0);
    let lowered = current.saturating_add(priority.nice_increment).min(19);
    if let Err(error) = rustix::process::setpriority_process(thread, lowered) {
        tracing::debug!(%error, "render thread keeps its priority");
    }
}

/// A panic's message, when it carried one.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOWER: RenderPriority = RenderPriority { nice_increment: 10 };

    #[tokio::test]
    async fn a_render_answers_from_a_thread_of_lower_priority() {
        let own = rustix::process::getpriority_process(Some(rustix::thread::gettid()));
        let seen = run(LOWER, || {
            rustix::process::getpriority_process(Some(rustix::thread::gettid()))
        })
        .await
        .map_err(|crash| crash.to_string());
        let (own, seen) = (own.unwrap_or(0), seen.ok().and_then(Result::ok));
        assert_eq!(seen, Some((own + 10).min(19)));
    }

    #[tokio::test]
    async fn a_panicking_render_is_an_answer_naming_the_panic() {
        let crashed = run(LOWER, || -> u32 { panic!("a step broke") }).await;
        let message = crashed.map_err(|crash| crash.to_string());
        assert_eq!(message, Err("processing crashed: a step broke".to_string()));
    }
}
