//! Limits on failed sign-ins and bad API tokens, per client address and per user name.
//!
//! Only failures count. Each key (a client address, a user name tried) has a window that starts at its
//! first failure; once it holds `per_address` (or `per_name`) failures, further attempts with that key
//! are refused until the window ends, and the refusal says how many seconds remain (`Retry-After`). A
//! success does not reset the count. The clock is the service's.
//!
//! - A password sign-in is refused before the password is hashed, a right one too, so that a right
//!   guess cannot be told apart from a wrong one.
//! - An API token (in a request or pasted into the sign-in page) is looked up first: a valid token
//!   always works, and only a bad one is answered 429 past the limit. A token is 256 random bits that
//!   no one guesses, while refusing valid ones would let one client lock out everyone who shares its
//!   address (an office behind one NAT, every user behind a reverse proxy that is not trusted).
//!
//! Why not a crate such as `governor`: its limiters count every check, with no way to look without
//! spending a cell, while here successes must cost nothing (an office behind one address signs in all
//! morning) and a refused key must be refused before the work. The state is a map per kind of key,
//! capped at [`MAX_KEYS`] entries (expired ones are dropped first; when it is still full, new keys are
//! not tracked, and the other kind of key still limits them).
//!
//! IPv6 clients are keyed by their /64 network, which one attacker typically holds whole.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::ServiceError;

/// The most keys of one kind remembered at once.
pub const MAX_KEYS: usize = 50_000;

/// How many failures are allowed, and over what window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// The window, in seconds, that starts at a key's first failure. Default 60.
    pub window_secs: u32,
    /// Failed sign-ins and bad API tokens per client address within the window. Default 20.
    pub per_address: u32,
    /// Failed sign-ins per user name tried within the window. Default 5.
    pub per_name: u32,
    /// Passwords hashed at once (each takes 19 MiB while it runs). Default 2.
    pub hashing_slots: usize,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits { window_secs: 60, per_address: 20, per_name: 5, hashing_slots: 2 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    since: DateTime<Utc>,
    failures: u32,
}

#[derive(Default)]
struct Counts {
    addresses: HashMap<IpAddr, Entry>,
    names: HashMap<String, Entry>,
}

/// The failure counts.
pub(crate) struct Throttle {
    limits: SignInLimits,
    counts: Mutex<Counts>,
}

/// Who is trying: the client's address (when known) and the user name typed (for password sign-ins).
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    address: Option<IpAddr>,
    name: Option<String>,
}

impl Attempt {
    pub fn new(address: Option<IpAddr>, name: Option<&str>) -> Self {
        let name = name.map(|n| n.trim().to_lowercase().chars().take(64).collect::<String>()).filter(|n| !n.is_empty());
        Attempt { address: address.map(network), name }
    }
}

/// The key of an address: itself, or its /64 network for IPv6.
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

fn wait<K: std::hash::Hash + Eq>(
    map: &HashMap<K, Entry>,
    key: &K,
    limit: u32,
    now: DateTime<Utc>,
    window: Duration,
) -> Option<Duration> {
    let e = map.get(key)?;
    let ends = e.since + window;
    (e.failures >= limit && now < ends).then(|| ends - now)
}

fn count<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Entry>, key: K, now: DateTime<Utc>, window: Duration) {
    if !map.contains_key(&key) && map.len() >= MAX_KEYS {
        map.retain(|_, e| now < e.since + window);
        if map.len() >= MAX_KEYS {
            return;
        }
    }
    let e = map.entry(key).or_insert(Entry { since: now, failures: 0 });
    if now >= e.since + window {
        *e = Entry { since: now, failures: 0 };
    }
    e.failures = e.failures.saturating_add(1);
}

impl Throttle {
    pub fn new(limits: SignInLimits) -> Self {
        Throttle { limits, counts: Mutex::new(Counts::default()) }
    }

    fn window(&self) -> Duration {
        Duration::seconds(i64::from(self.limits.window_secs.max(1)))
    }

    /// Refuses an attempt whose address or name has used up its failures in the current window.
    pub fn check(&self, attempt: &Attempt, now: DateTime<Utc>) -> Result<(), ServiceError> {
        // A poisoned lock still holds valid counts (nothing panics while holding it): keep using them.
        let counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = self.window();
        let by_address =
            attempt.address.and_then(|a| wait(&counts.addresses, &a, self.limits.per_address, now, window));
        let by_name = attempt.name.as_ref().and_then(|n| wait(&counts.names, n, self.limits.per_name, now, window));
        let (what, left) = match (by_address, by_name) {
            (Some(a), Some(n)) if n > a => ("for this user name", n),
            (Some(a), _) => ("from your address", a),
            (None, Some(n)) => ("for this user name", n),
            (None, None) => return Ok(()),
        };
        // Whole seconds, rounded up: waiting that long is always enough.
        let secs = ((left.num_milliseconds() + 999) / 1000).max(1) as u64;
        Err(ServiceError::TooManyAttempts {
            retry_after_secs: secs,
            message: format!(
                "too many failed sign-ins {what}: try again in {secs} seconds (at most {} failures per {} seconds)",
                if what == "from your address" { self.limits.per_address } else { self.limits.per_name },
                self.limits.window_secs
            ),
        })
    }

    /// Counts a failure against the attempt's address and name.
    pub fn failed(&self, attempt: &Attempt, now: DateTime<Utc>) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = self.window();
        if let Some(a) = attempt.address {
            count(&mut counts.addresses, a, now, window);
        }
        if let Some(n) = &attempt.name {
            count(&mut counts.names, n.clone(), now, window);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(2_000_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn failures_past_the_limit_are_refused_until_the_window_ends() {
        let t = Throttle::new(SignInLimits { window_secs: 60, per_address: 3, per_name: 2, hashing_slots: 1 });
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let rita = Attempt::new(Some(ip), Some(" Rita "));
        t.failed(&rita, at(0));
        assert!(t.check(&rita, at(1)).is_ok());
        t.failed(&rita, at(10));
        match t.check(&rita, at(10)) {
            Err(ServiceError::TooManyAttempts { retry_after_secs, message }) => {
                assert_eq!(retry_after_secs, 50);
                assert!(message.contains("for this user name"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // Another name from the same address has one failure left.
        let other = Attempt::new(Some(ip), Some("carol"));
        assert!(t.check(&other, at(10)).is_ok());
        t.failed(&other, at(11));
        assert!(matches!(t.check(&Attempt::new(Some(ip), None), at(12)), Err(ServiceError::TooManyAttempts { .. })));
        assert!(t.check(&rita, at(60)).is_ok(), "the window ended");
        // IPv6 addresses of one /64 share a count.
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        for _ in 0..3 {
            t.failed(&Attempt::new(Some(a), None), at(100));
        }
        assert!(t.check(&Attempt::new(Some(b), None), at(101)).is_err());
    }
}
