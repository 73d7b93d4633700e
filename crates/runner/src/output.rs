//! Turning bytes into output lines: split at line breaks and at [`MAX_LINE_BYTES`], decoded lossily,
//! capped per run with one visible marker line.

use chrono::Utc;

use crate::outcome::{OutputLine, Stream};

/// A line longer than this is reported as several lines of at most this many bytes.
pub const MAX_LINE_BYTES: usize = 8 * 1024;

/// Where a run's output lines go, as they come.
pub trait LineSink: Send {
    fn line(&mut self, line: OutputLine);
}

/// Keeps every line in memory.
#[derive(Debug, Clone, Default)]
pub struct VecSink {
    pub lines: Vec<OutputLine>,
}

impl VecSink {
    pub fn new() -> Self {
        VecSink::default()
    }

    /// The texts of one stream's lines, in order.
    pub fn texts(&self, stream: Stream) -> Vec<&str> {
        self.lines.iter().filter(|l| l.stream == stream).map(|l| l.text.as_str()).collect()
    }
}

impl LineSink for VecSink {
    fn line(&mut self, line: OutputLine) {
        self.lines.push(line);
    }
}

/// Any `FnMut(OutputLine)` is a sink, e.g. one that sends lines over a channel.
impl<F: FnMut(OutputLine) + Send> LineSink for F {
    fn line(&mut self, line: OutputLine) {
        self(line)
    }
}

/// What a run may print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of output (line breaks included) kept per run; 1 MiB by default.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_output_bytes: 1024 * 1024 }
    }
}

/// One run's output: counts bytes against the cap and hands complete lines to the sink.
pub(crate) struct Capture<'a> {
    sink: &'a mut dyn LineSink,
    limit: usize,
    used: usize,
    truncated: bool,
}

impl<'a> Capture<'a> {
    pub fn new(sink: &'a mut dyn LineSink, limits: &Limits) -> Self {
        Capture { sink, limit: limits.max_output_bytes, used: 0, truncated: false }
    }

    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// One raw line (`size` bytes as read, line break included); dropped once the cap is reached.
    fn emit(&mut self, stream: Stream, raw: &[u8], size: usize) {
        if self.truncated {
            return;
        }
        let at = Utc::now();
        if self.used + size > self.limit {
            self.truncated = true;
            let text = format!("[output truncated after {} bytes]", self.limit);
            self.sink.line(OutputLine { at, stream, text });
            return;
        }
        self.used += size;
        self.sink.line(OutputLine { at, stream, text: String::from_utf8_lossy(raw).into_owned() });
    }
}

/// Splits one stream's bytes into lines.
#[derive(Debug)]
pub(crate) struct Splitter {
    stream: Stream,
    pending: Vec<u8>,
}

impl Splitter {
    pub fn new(stream: Stream) -> Self {
        Splitter { stream, pending: Vec::new() }
    }

    /// Adds bytes just read; emits every line they complete.
    pub fn push(&mut self, bytes: &[u8], capture: &mut Capture<'_>) {
        if capture.truncated {
            return; // keep draining, keep nothing
        }
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.pending.extend_from_slice(&rest[..pos]);
            self.split_long(capture);
            let size = self.pending.len() + 1;
            let line = strip_cr(&self.pending);
            capture.emit(self.stream, line, size);
            self.pending.clear();
            rest = &rest[pos + 1..];
        }
        self.pending.extend_from_slice(rest);
        self.split_long(capture);
    }

    /// The end of the stream: a last line without a line break.
    pub fn finish(&mut self, capture: &mut Capture<'_>) {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            capture.emit(self.stream, strip_cr(&pending), pending.len());
        }
    }

    /// Emits pieces of the pending line while it is longer than [`MAX_LINE_BYTES`], cutting between
    /// UTF-8 characters where possible.
    fn split_long(&mut self, capture: &mut Capture<'_>) {
        let mut start = 0;
        while self.pending.len() - start > MAX_LINE_BYTES {
            let cut = char_boundary(&self.pending[start..], MAX_LINE_BYTES);
            capture.emit(self.stream, &self.pending[start..start + cut], cut);
            start += cut;
        }
        if start > 0 {
            self.pending.drain(..start);
        }
    }
}

/// The largest cut at or below `max` that does not split a UTF-8 character (or `max` when the bytes
/// are not UTF-8 there anyway).
fn char_boundary(bytes: &[u8], max: usize) -> usize {
    (max.saturating_sub(3)..=max).rev().find(|&i| i > 0 && !is_continuation(bytes[i])).unwrap_or(max)
}

fn is_continuation(b: u8) -> bool {
    b & 0b1100_0000 == 0b1000_0000
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], limit: usize) -> (Vec<String>, bool) {
        let mut sink = VecSink::new();
        let limits = Limits { max_output_bytes: limit };
        let mut capture = Capture::new(&mut sink, &limits);
        let mut s = Splitter::new(Stream::Stdout);
        for c in chunks {
            s.push(c, &mut capture);
        }
        s.finish(&mut capture);
        let truncated = capture.truncated();
        (sink.lines.into_iter().map(|l| l.text).collect(), truncated)
    }

    #[test]
    fn lines_across_chunks_crlf_and_a_last_line_without_break() {
        let (lines, truncated) = split(&[b"one\r\ntw", b"o\n\nthr", b"ee"], 1000);
        assert_eq!(lines, ["one", "two", "", "three"]);
        assert!(!truncated);
    }

    #[test]
    fn long_lines_are_split_between_characters() {
        let mut long = "é".repeat(MAX_LINE_BYTES); // 2 bytes each
        long.push('\n');
        let (lines, _) = split(&[long.as_bytes()], usize::MAX);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.len() <= MAX_LINE_BYTES && !l.contains('\u{FFFD}')));
        assert_eq!(lines.concat(), "é".repeat(MAX_LINE_BYTES));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let (lines, _) = split(&[b"a\xff\xfeb\n"], 100);
        assert_eq!(lines, ["a\u{FFFD}\u{FFFD}b"]);
    }

    #[test]
    fn the_cap_drops_later_lines_behind_one_marker() {
        let (lines, truncated) = split(&[b"1234\n1234\n1234\n1234\n"], 12);
        assert_eq!(lines, ["1234", "1234", "[output truncated after 12 bytes]"]);
        assert!(truncated);
    }
}
