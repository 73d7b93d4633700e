//! Turning bytes into output lines: split at line breaks and at [`MAX_LINE_BYTES`], decoded lossily,
//! capped per run with one visible marker line.

use chrono::Utc;

use railyard_domain::RunProcess;

use crate::outcome::{OutputLine, Stream};

/// A line longer than this is reported as several lines of at most this many bytes.
pub const MAX_LINE_BYTES: usize = 8 * 1024;

/// Where a run's output lines go, as they come.
pub trait LineSink: Send {
    fn line(&mut self, line: OutputLine);

    /// A command's process started, in a process group of its own: where to find what is left of it
    /// should the server die before the run ends. Called once, before any line; never for HTTP actions.
    fn started(&mut self, _process: &RunProcess) {}
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

/// The bytes of output (line breaks included) a run keeps by default: 1 MiB.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// The lines of output a run keeps by default (many tiny lines cost more than their bytes).
pub const MAX_LINES: usize = 20_000;

/// What a run may print. Both caps are one accounting: output is kept line by line until either is
/// reached, then nothing more is kept, and one mark at the end says what was dropped, in bytes and in
/// lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of output (line breaks included) kept per run; [`MAX_OUTPUT_BYTES`] by default.
    pub max_output_bytes: usize,
    /// Lines kept per run (a line longer than [`MAX_LINE_BYTES`] counts as several); [`MAX_LINES`] by
    /// default.
    pub max_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_output_bytes: MAX_OUTPUT_BYTES, max_lines: MAX_LINES }
    }
}

/// One run's output: counts bytes and lines against the caps, hands the lines it keeps to the sink, and
/// counts what it drops for the one mark of [`Capture::finish`].
pub(crate) struct Capture<'a> {
    sink: &'a mut dyn LineSink,
    limits: Limits,
    kept_bytes: usize,
    kept_lines: usize,
    dropped_bytes: u64,
    dropped_lines: u64,
    truncated: bool,
    /// The rest of the output was not even read (an HTTP body): the counts are a lower bound.
    unread: bool,
}

impl<'a> Capture<'a> {
    pub fn new(sink: &'a mut dyn LineSink, limits: &Limits) -> Self {
        Capture {
            sink,
            limits: *limits,
            kept_bytes: 0,
            kept_lines: 0,
            dropped_bytes: 0,
            dropped_lines: 0,
            truncated: false,
            unread: false,
        }
    }

    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Whatever follows is not read at all (an HTTP body past the caps); the mark says so.
    pub fn stop_reading(&mut self) {
        self.unread = true;
    }

    /// The sink, for what is not an output line (the process that started).
    pub fn sink(&mut self) -> &mut dyn LineSink {
        &mut *self.sink
    }

    /// One raw line (`size` bytes as read, line break included): kept, or counted as dropped once a cap
    /// is reached (and every line after it, so the output kept is always a prefix).
    fn emit(&mut self, stream: Stream, raw: &[u8], size: usize) {
        if !self.truncated
            && (self.kept_bytes + size > self.limits.max_output_bytes || self.kept_lines >= self.limits.max_lines)
        {
            self.truncated = true;
        }
        if self.truncated {
            self.dropped_bytes += size as u64;
            self.dropped_lines += 1;
            return;
        }
        self.kept_bytes += size;
        self.kept_lines += 1;
        let text = String::from_utf8_lossy(raw).into_owned();
        self.sink.line(OutputLine { at: Utc::now(), stream, text });
    }

    /// The end of the run: when output was dropped, one mark line (on stderr) saying how much, e.g.
    /// `[output cut: 48.9 MiB in 412,345 lines not kept; a run keeps at most 1 MiB and 20,000 lines]`.
    pub fn finish(&mut self) {
        if !self.truncated {
            return;
        }
        let text = format!(
            "[output cut: {} in {} not kept{}; a run keeps at most {} and {} lines]",
            bytes(self.dropped_bytes),
            count(self.dropped_lines, "line", "lines"),
            if self.unread { ", and the rest was not read" } else { "" },
            bytes(self.limits.max_output_bytes as u64),
            thousands(self.limits.max_lines as u64),
        );
        self.sink.line(OutputLine { at: Utc::now(), stream: Stream::Stderr, text });
    }
}

/// `1 byte`, `512 bytes`, `3.5 KiB`, `1 MiB`, `48.9 MiB`, `2.1 GiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if n < 1024 {
        return count(n, "byte", "bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    format!("{} {}", text.strip_suffix(".0").unwrap_or(&text), UNITS[unit])
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `412345` as `412,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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

    /// Adds bytes just read; emits every line they complete (once a cap is reached, they are only
    /// counted).
    pub fn push(&mut self, bytes: &[u8], capture: &mut Capture<'_>) {
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
        split_with(chunks, Limits { max_output_bytes: limit, max_lines: usize::MAX })
    }

    fn split_with(chunks: &[&[u8]], limits: Limits) -> (Vec<String>, bool) {
        let mut sink = VecSink::new();
        let mut capture = Capture::new(&mut sink, &limits);
        let mut s = Splitter::new(Stream::Stdout);
        for c in chunks {
            s.push(c, &mut capture);
        }
        s.finish(&mut capture);
        capture.finish();
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
    fn the_byte_cap_drops_later_lines_behind_one_mark_that_counts_them() {
        let (lines, truncated) = split(&[b"1234\n1234\n1234\n1234\n"], 12);
        let mark = "[output cut: 10 bytes in 2 lines not kept; a run keeps at most 12 bytes and 18,446,744,073,709,551,615 lines]";
        assert_eq!(lines, ["1234", "1234", mark]);
        assert!(truncated);
    }

    #[test]
    fn the_line_cap_and_the_byte_cap_are_one_accounting() {
        // The line cap is reached first: everything after it is counted, a last partial line included.
        let limits = Limits { max_output_bytes: 1024 * 1024, max_lines: 3 };
        let (lines, _) = split_with(&[b"a\nb\nc\nd\ne\nf"], limits);
        assert_eq!(
            lines,
            ["a", "b", "c", "[output cut: 5 bytes in 3 lines not kept; a run keeps at most 1 MiB and 3 lines]"]
        );
        // Nothing dropped: no mark.
        let (lines, truncated) = split_with(&[b"a\nb\nc\n"], limits);
        assert_eq!((lines.len(), truncated), (3, false));
    }

    #[test]
    fn sizes_and_counts_read_as_a_person_writes_them() {
        assert_eq!(bytes(1), "1 byte");
        assert_eq!(bytes(1023), "1,023 bytes");
        assert_eq!(bytes(1024), "1 KiB");
        assert_eq!(bytes(1024 * 1024), "1 MiB");
        assert_eq!(bytes(51_276_800), "48.9 MiB");
        assert_eq!(thousands(412_345), "412,345");
        assert_eq!(thousands(20_000), "20,000");
        assert_eq!(thousands(999), "999");
    }
}
