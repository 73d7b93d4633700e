//! What `railyard serve` tells its operator, on standard output (`say!`) and standard error (`complain!`).
//!
//! A server outlives whoever reads its output: a log pipe whose reader went away (`railyard serve |
//! head -1`, a log shipper restarted, a test that stopped reading once it had the address) must not end
//! it. `println!` panics when its write fails; these drop the line instead.

/// Like `println!`, but a closed or failing standard output drops the line instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Like `eprintln!`, but a closed or failing standard error drops the line instead of panicking.
macro_rules! complain {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub(crate) use {complain, say};
