//! mailer-rs: the Node.js addon. Only `binding` knows napi; behaviour lives in the crates.
#![deny(clippy::all)]
// BindError carries nodemailer's full error context; it is built once per failure, never on the hot path.
#![allow(clippy::result_large_err)]

pub mod binding;

// mimalloc instead of glibc malloc: composing a message makes many small allocations, and they
// are freed on another thread (tokio's workers) than the one that made them (the JS thread),
// which glibc's per-thread arenas turn into lock contention. See docs/performance.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` (4 in mimalloc 2 and 3; the crate does not name it).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

// At load, before the addon allocates much: commit mimalloc's arenas as they are used rather
// than whole. Eager commit (its Linux default) added 5 MB to an idle process and 10 MB to the
// peak of 10,000 pooled sends, for no measurable CPU difference.
#[napi_derive::module_init]
fn init_allocator() {
    // SAFETY: sets a process-wide option; mimalloc documents it as callable at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
    init_runtime();
}

/// One tokio worker for all sockets (napi's default is one per core). A connection's work on
/// it is a few syscalls per message; messages are composed on the JS thread and DKIM signatures
/// made on the blocking pool. With two workers, every wake-up also woke the other one to look
/// for work: one worker took 8-13 % less CPU per pooled message and sent sequential messages
/// 10 % faster (docs/performance.md).
fn init_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("mailer-rs-io")
        .enable_all()
        .build();
    // if it cannot be built, napi builds its default runtime on first use
    if let Ok(rt) = rt {
        napi::bindgen_prelude::create_custom_tokio_runtime(rt);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn allocator_option_is_set_at_load() {
        // the load-time hook runs in any binary linking this crate, this test's included
        let v = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_ARENA_EAGER_COMMIT) };
        assert_eq!(v, 0);
    }
}
