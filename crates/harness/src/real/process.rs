//! What a process on a real network needs first: an open-file limit for thousands of
//! connections, and a single-threaded runtime with a `LocalSet` (the drivers spawn local
//! tasks).

/// Raises this process's open-file limit to its hard limit: a server (or a load generator)
/// holds one descriptor per connection, and the usual soft limit of 1024 is far too low.
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by reference.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) == 0
            && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit);
        }
    }
}

/// Runs `f` to completion on a new single-threaded runtime inside a `LocalSet`.
///
/// # Errors
/// When the runtime cannot be built.
pub fn block_on<F: std::future::Future>(f: F) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(tokio::task::LocalSet::new().block_on(&runtime, f))
}
