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
//! morning) and a refused key must be refused before the work.
//!
//! The state is a map per kind of key, capped at [`MAX_KEYS`] entries. When a map is full, a new key
//! makes room by evicting the entry whose window started first (most likely over already): every failure
//! is counted, and the cost of counting one is constant (amortised; a queue in window order, see
//! [`Window`]), never a sweep of the whole map under the lock every authentication takes.
//!
//! IPv6 clients are keyed by their /64 network, which one attacker typically holds whole, and also by
//! their /48 (a site's allocation), which shares [`PER_NETWORK_FACTOR`] times the per-address limit:
//! one site cannot spread its failures over its 65,536 /64 networks.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::ServiceError;

/// The most keys of one kind remembered at once.
pub const MAX_KEYS: usize = 50_000;

/// The failures one IPv6 /48 network may have within the window, as a multiple of the per-address
/// limit (its /64 networks each have that limit too).
pub const PER_NETWORK_FACTOR: u32 = 4;

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
    /// Which push of the key onto the queue is the current one (older pushes are stale).
    stamp: u64,
}

/// The failure counts of one kind of key, at most [`MAX_KEYS`] of them, with a queue of the keys in
/// the order their windows started: the front is the one to evict when the map is full. A key whose
/// window starts again is pushed again; its older place in the queue is stale and skipped. The queue is
/// compacted when stale places outnumber the live ones, so it stays within twice the map.
struct Window<K> {
    map: HashMap<K, Entry>,
    order: VecDeque<(K, u64)>,
    pushes: u64,
}

impl<K: Hash + Eq + Clone> Window<K> {
    fn new() -> Self {
        Window { map: HashMap::new(), order: VecDeque::new(), pushes: 0 }
    }

    /// How long `key` must still wait, when it has used up `limit` failures in its window.
    fn wait(&self, key: &K, limit: u32, now: DateTime<Utc>, window: Duration) -> Option<Duration> {
        let e = self.map.get(key)?;
        let ends = e.since + window;
        (e.failures >= limit && now < ends).then(|| ends - now)
    }

    fn count(&mut self, key: K, now: DateTime<Utc>, window: Duration) {
        if let Some(e) = self.map.get_mut(&key)
            && now < e.since + window
        {
            e.failures = e.failures.saturating_add(1);
            return;
        }
        if !self.map.contains_key(&key) && self.map.len() >= MAX_KEYS {
            self.evict_oldest();
        }
        self.pushes += 1;
        self.map.insert(key.clone(), Entry { since: now, failures: 1, stamp: self.pushes });
        self.order.push_back((key, self.pushes));
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order.retain(|(k, stamp)| map.get(k).is_some_and(|e| e.stamp == *stamp));
        }
    }

    /// Drops the entry whose window started first.
    fn evict_oldest(&mut self) {
        while let Some((key, stamp)) = self.order.pop_front() {
            if self.map.get(&key).is_some_and(|e| e.stamp == stamp) {
                self.map.remove(&key);
                return;
            }
        }
    }
}

struct Counts {
    addresses: Window<IpAddr>,
    networks: Window<Ipv6Addr>,
    names: Window<String>,
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
    /// The /48 of an IPv6 address.
    network: Option<Ipv6Addr>,
    name: Option<String>,
}

impl Attempt {
    pub fn new(address: Option<IpAddr>, name: Option<&str>) -> Self {
        let name = name.map(|n| n.trim().to_lowercase().chars().take(64).collect::<String>()).filter(|n| !n.is_empty());
        let address = address.map(network);
        let network = match address {
            Some(IpAddr::V6(v6)) => {
                let s = v6.segments();
                Some(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
            }
            _ => None,
        };
        Attempt { address, network, name }
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
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Throttle {
    pub fn new(limits: SignInLimits) -> Self {
        let counts = Counts { addresses: Window::new(), networks: Window::new(), names: Window::new() };
        Throttle { limits, counts: Mutex::new(counts) }
    }

    fn window(&self) -> Duration {
        Duration::seconds(i64::from(self.limits.window_secs.max(1)))
    }

    /// Refuses an attempt whose address, network or name has used up its failures in the current window.
    pub fn check(&self, attempt: &Attempt, now: DateTime<Utc>) -> Result<(), ServiceError> {
        // A poisoned lock still holds valid counts (nothing panics while holding it): keep using them.
        let counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = self.window();
        let per_network = self.limits.per_address.saturating_mul(PER_NETWORK_FACTOR);
        let waits = [
            attempt
                .address
                .and_then(|a| counts.addresses.wait(&a, self.limits.per_address, now, window))
                .map(|w| (w, "from your address", self.limits.per_address)),
            attempt
                .network
                .and_then(|n| counts.networks.wait(&n, per_network, now, window))
                .map(|w| (w, "from your network", per_network)),
            attempt
                .name
                .as_ref()
                .and_then(|n| counts.names.wait(n, self.limits.per_name, now, window))
                .map(|w| (w, "for this user name", self.limits.per_name)),
        ];
        drop(counts);
        // The longest wait is the one that matters (the first named, of equal ones).
        let Some((left, what, limit)) = waits.into_iter().rev().flatten().max_by_key(|(w, _, _)| *w) else {
            return Ok(());
        };
        // Whole seconds, rounded up: waiting that long is always enough.
        let secs = ((left.num_milliseconds() + 999) / 1000).max(1) as u64;
        Err(ServiceError::TooManyAttempts {
            retry_after_secs: secs,
            message: format!(
                "too many failed sign-ins {what}: try again in {secs} seconds (at most {limit} failures per {} seconds)",
                self.limits.window_secs
            ),
        })
    }

    /// Counts a failure against the attempt's address, network and name.
    pub fn failed(&self, attempt: &Attempt, now: DateTime<Utc>) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = self.window();
        if let Some(a) = attempt.address {
            counts.addresses.count(a, now, window);
        }
        if let Some(n) = attempt.network {
            counts.networks.count(n, now, window);
        }
        if let Some(n) = &attempt.name {
            counts.names.count(n.clone(), now, window);
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

    fn limited(t: &Throttle, a: &Attempt, now: DateTime<Utc>) -> bool {
        matches!(t.check(a, now), Err(ServiceError::TooManyAttempts { .. }))
    }

    /// Finding 11: with every slot taken by other addresses, a new address is still counted (the
    /// oldest entry makes room), so it is refused past its limit like any other.
    #[test]
    fn a_new_address_is_counted_even_when_the_map_is_full() {
        let t = Throttle::new(SignInLimits { window_secs: 3600, per_address: 3, per_name: 3, hashing_slots: 1 });
        for i in 0..MAX_KEYS as u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            t.failed(&Attempt::new(Some(ip), None), at(i64::from(i / 1000)));
        }
        let newcomer = Attempt::new(Some("192.0.2.99".parse().unwrap()), None);
        for i in 0..3 {
            assert!(!limited(&t, &newcomer, at(100)), "attempt {i} is allowed");
            t.failed(&newcomer, at(100));
        }
        let counts = t.counts.lock().unwrap();
        let (addresses, names) = (counts.addresses.map.len(), counts.names.map.len());
        let queued = counts.addresses.order.len();
        drop(counts);
        assert!(queued <= 2 * MAX_KEYS + 64, "the queue stays within twice the map: {queued}");
        println!(
            "{MAX_KEYS} addresses remembered, then a new one failed 3 times: limited {}, {addresses} addresses kept, {names} names",
            limited(&t, &newcomer, at(101))
        );
        assert!(limited(&t, &newcomer, at(101)), "a new address past its limit must be refused when the map is full");
        assert!(addresses <= MAX_KEYS, "{addresses} addresses remembered");
    }

    /// Finding 11: the /64 networks of one /48 share a second count, so one site cannot spread its
    /// failures over its 65,536 networks; another /48 is not held by it.
    #[test]
    fn the_networks_of_one_slash_48_share_a_count() {
        let limits = SignInLimits { window_secs: 60, per_address: 5, per_name: 5, hashing_slots: 1 };
        let t = Throttle::new(limits);
        let net = |n: u16| -> IpAddr { format!("2001:db8:7:{n:x}::1").parse().unwrap() };
        let mut refused_at = None;
        for n in 0..1000u16 {
            let a = Attempt::new(Some(net(n)), None);
            if limited(&t, &a, at(1)) {
                refused_at = Some(n);
                break;
            }
            t.failed(&a, at(1));
        }
        println!("failures from distinct /64s of one /48 before a refusal: {refused_at:?}");
        let n = refused_at.expect("one /48 spreading its failures over its /64s must be limited");
        assert_eq!(u32::from(n), limits.per_address * PER_NETWORK_FACTOR, "the /48's limit");
        let elsewhere: IpAddr = "2001:db8:8::1".parse().unwrap();
        assert!(!limited(&t, &Attempt::new(Some(elsewhere), None), at(2)), "another /48 is not held");
    }
}
