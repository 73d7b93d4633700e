//! Masking of secret values in what a run prints and in its messages: every occurrence of a value, of
//! its base64 forms (standard and URL-safe, with and without padding) and of its URL-encoded form is
//! replaced by `***`. Both the built-in runner and remote runners mask a line before it leaves them;
//! the server masks what it receives once more.
//!
//! What masking cannot catch (and the documentation says so): a value split across two lines, or
//! transformed by the task some other way (reversed, hashed, hex-encoded). Values shorter than
//! [`MIN_MASKED_LEN`] bytes are refused when a secret is set, so that masking never blanks out
//! ordinary words.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// What replaces a secret in output and messages.
pub const MASK: &str = "***";

/// The shortest secret value that can be masked reliably.
pub const MIN_MASKED_LEN: usize = 4;

/// The forms of a set of secret values to hide, longest first (so that a value containing another is
/// hidden whole). Its `Debug` shows how many forms it hides, never one of them.
#[derive(Clone, Default)]
pub struct Masker {
    needles: Vec<String>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker(<{} forms hidden>)", self.needles.len())
    }
}

impl Masker {
    /// A masker for these values (empty values are ignored).
    pub fn new<S: AsRef<str>>(values: &[S]) -> Masker {
        let mut needles: Vec<String> = Vec::new();
        for v in values.iter().map(AsRef::as_ref).filter(|v| !v.is_empty()) {
            let bytes = v.as_bytes();
            needles.push(v.to_string());
            for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                needles.push(engine.encode(bytes));
            }
            needles.push(utf8_percent_encode(v, NON_ALPHANUMERIC).to_string());
            // The form-encoded form (spaces as '+') of a value with spaces.
            if v.contains(' ') {
                needles.push(utf8_percent_encode(v, NON_ALPHANUMERIC).to_string().replace("%20", "+"));
            }
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Masker { needles }
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every form of every value replaced by [`MASK`].
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.needles.iter().any(|n| text.contains(n.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MASK);
            }
        }
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_value_is_masked() {
        let m = Masker::new(&["s3cr3t value/+"]);
        let b64 = STANDARD.encode("s3cr3t value/+");
        let url = utf8_percent_encode("s3cr3t value/+", NON_ALPHANUMERIC).to_string();
        for (text, want) in [
            ("token=s3cr3t value/+ end", "token=*** end"),
            (&format!("b64 {b64}") as &str, "b64 ***"),
            (&format!("url {url}"), "url ***"),
            ("url s3cr3t+value%2F%2B", "url ***"),
            ("nothing here", "nothing here"),
        ] {
            assert_eq!(m.mask(text), want, "{text}");
        }
    }

    #[test]
    fn a_longer_value_containing_a_shorter_one_is_masked_whole() {
        let m = Masker::new(&["abcd", "abcdefgh"]);
        assert_eq!(m.mask("x abcdefgh y abcd"), "x *** y ***");
        assert!(Masker::new::<&str>(&[]).is_empty());
        assert!(Masker::new(&[""]).is_empty());
    }
}
