//! PURE: the streaming redactor behind `--mask` (issue 5), and the terminal rule that says
//! which of the program's streams go through it.
//!
//! Every secret of at least `min_len` bytes is replaced by `[masked:NAME]`, longest match first
//! where secrets overlap. Output is byte-exact otherwise, and a secret split across any number
//! of writes is never leaked: only a tail that could still be the start of a secret is held
//! back, until the next bytes decide it or the stream ends.
//!
//! Why holding only that tail is enough: let `q` be the earliest position whose remainder is a
//! proper prefix of some secret. A match that starts before `q` cannot grow with more input (a
//! longer secret starting there would make that position a candidate for `q`), and no match
//! starting before `q` can appear later, so every match starting before `q` is final.

use std::ffi::OsStr;

use aho_corasick::{AhoCorasick, Input, Match, MatchKind, PatternID};

use crate::environment::{Composed, Outcome};
use crate::flatten::Variable;

pub const DEFAULT_MIN_LEN: usize = 6;

/// The (name, value) pairs `--mask` hides, in file order: every injected variable's value
/// from the secrets, and where `--no-override` kept an inherited value under that name, the
/// inherited value as well. The child received the inherited one; the file's may still reach
/// its output another way (Streamlit's `st.secrets` reads the file itself).
pub fn values_to_mask<'a>(
    variables: &'a [Variable],
    composed: &'a Composed,
) -> Vec<(&'a str, &'a [u8])> {
    let mut values = Vec::with_capacity(variables.len());
    for (variable, outcome) in composed.zip(variables) {
        values.push((variable.name.as_str(), variable.value.as_bytes()));
        if outcome == Outcome::Kept {
            let inherited = composed
                .inherited(&variable.name)
                .map(OsStr::as_encoded_bytes);
            values.extend(inherited.map(|value| (variable.name.as_str(), value)));
        }
    }
    values
}

/// Which of the program's output streams `--mask` relays through the redactor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MaskWhen {
    /// Standard output and error, each unless it is a terminal
    Auto,
    /// Both streams, terminals too (on a pseudo-terminal, so the program still sees one)
    Always,
}

/// What `--mask` was asked to do.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub when: MaskWhen,
    pub min_len: usize,
}

/// What inject knows of one of its own output descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub terminal: bool,
    /// Device and inode: two descriptors with the same are one file.
    pub file: (u64, u64),
}

/// Which of the program's streams go through the redactor, and how: a pipe, or for a
/// terminal a pseudo-terminal (SPEC §16), so that the program still sees a terminal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Routes {
    pub stdout: bool,
    pub stderr: bool,
    /// Both are masked and inject's stdout and stderr are one file: one pipe (or one pty)
    /// for both, written to stdout.
    pub shared: bool,
    /// The masked stdout is a terminal: the program's stdout is a pty.
    pub stdout_pty: bool,
    /// The masked stderr is a terminal: the program's stderr is a pty (the same one).
    pub stderr_pty: bool,
}

/// The terminal rule. A stream inject's caller closed stays closed; a terminal is left
/// alone unless `always`, and then masked on a pty.
pub fn routes(when: MaskWhen, stdout: Option<Descriptor>, stderr: Option<Descriptor>) -> Routes {
    let masked = |d: Option<Descriptor>| d.is_some_and(|d| when == MaskWhen::Always || !d.terminal);
    let on_pty = |d: Option<Descriptor>| masked(d) && d.is_some_and(|d| d.terminal);
    let (out, err) = (masked(stdout), masked(stderr));
    Routes {
        stdout: out,
        stderr: err,
        shared: out && err && stdout.map(|d| d.file) == stderr.map(|d| d.file),
        stdout_pty: on_pty(stdout),
        stderr_pty: on_pty(stderr),
    }
}

pub struct Redactor {
    matcher: Option<AhoCorasick>,
    /// In front of the automaton when every secret has at least 4 bytes (see [`Sampler`]).
    sampler: Option<Sampler>,
    patterns: Vec<Vec<u8>>,
    replacements: Vec<Vec<u8>>,
    /// `starts[b]`: some secret begins with byte `b` (a cheap filter for the held tail).
    starts: [bool; 256],
    /// Bit `256 * a + b`: some secret begins with bytes `a`, `b` (a second filter for the tail).
    pairs: Box<[u64]>,
    /// Indices of `patterns` in byte order, to look up prefixes.
    sorted: Vec<usize>,
    longest: usize,
    held: Vec<u8>,
}

impl Redactor {
    /// `secrets` are (name, value) in file order; when two names share a value, the first names it.
    pub fn new<'a>(
        secrets: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        min_len: usize,
    ) -> Result<Self, aho_corasick::BuildError> {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut replacements = Vec::new();
        for (name, value) in secrets {
            if value.len() >= min_len.max(1) && !patterns.iter().any(|p| p == value) {
                patterns.push(value.to_vec());
                replacements.push(format!("[masked:{name}]").into_bytes());
            }
        }
        let mut starts = [false; 256];
        let mut pairs = vec![0u64; 65536 / 64].into_boxed_slice();
        for pattern in &patterns {
            starts[pattern[0] as usize] = true;
            if let [first, second, ..] = pattern[..] {
                let pair = usize::from(first) << 8 | usize::from(second);
                pairs[pair / 64] |= 1 << (pair % 64);
            }
        }
        let matcher = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&patterns)?,
            )
        };
        Ok(Self {
            longest: patterns.iter().map(Vec::len).max().unwrap_or(0),
            sampler: Sampler::new(&patterns),
            sorted: {
                let mut sorted: Vec<usize> = (0..patterns.len()).collect();
                sorted.sort_by(|&a, &b| patterns[a].cmp(&patterns[b]));
                sorted
            },
            matcher,
            patterns,
            replacements,
            starts,
            pairs,
            held: Vec::new(),
        })
    }

    /// Feed bytes; append to `out` everything that is decided.
    #[cfg(test)]
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.push_to(input, &mut |piece| out.extend_from_slice(piece));
    }

    /// [`Redactor::push`], handing what is decided to `emit` in order, piece by piece: runs
    /// of the input itself, uncopied, and replacements.
    pub fn push_to(&mut self, input: &[u8], emit: &mut impl FnMut(&[u8])) {
        if self.matcher.is_none() {
            emit(input);
            return;
        }
        let mut held = std::mem::take(&mut self.held);
        if held.is_empty() {
            let hold_from = self.decide(input, 0, emit);
            held.extend_from_slice(&input[hold_from..]);
        } else if input.len() < self.longest {
            held.extend_from_slice(input);
            let hold_from = self.decide(&held, 0, emit);
            held.drain(..hold_from);
        } else {
            // Every match that starts in the held tail ends within `longest` bytes of input:
            // decide those on a small join, then go on in `input` itself, uncopied.
            let from_held = held.len();
            held.extend_from_slice(&input[..self.longest]);
            let pos = self.decide_before(&held, from_held, emit);
            let hold_from = self.decide(input, pos - from_held, emit);
            held.clear();
            held.extend_from_slice(&input[hold_from..]);
        }
        self.held = held;
    }

    /// Emit `buffer[from..]` with the secrets replaced, up to the possible start of
    /// a secret at its end; returns where that held part begins.
    fn decide(&self, buffer: &[u8], from: usize, emit: &mut impl FnMut(&[u8])) -> usize {
        let Some(matcher) = &self.matcher else {
            emit(&buffer[from..]);
            return buffer.len();
        };
        let mut pos = from;
        let mut partial = self.partial_start(buffer, from);
        let hold_from = loop {
            if partial < pos {
                // A match ran past the candidate tail: look again behind it.
                partial = self.partial_start(buffer, pos);
            }
            match self.find(matcher, buffer, pos) {
                Some(m) if m.start() < partial => {
                    emit(&buffer[pos..m.start()]);
                    emit(&self.replacements[m.pattern().as_usize()]);
                    pos = m.end();
                }
                _ => break partial,
            }
        };
        emit(&buffer[pos..hold_from]);
        hold_from
    }

    /// Emit `buffer[..end]` with the secrets that start there replaced, where
    /// `buffer` reaches `longest` bytes past `end` (so it holds every such secret whole);
    /// returns where the bytes not yet written begin (`end` or later).
    fn decide_before(&self, buffer: &[u8], end: usize, emit: &mut impl FnMut(&[u8])) -> usize {
        let mut pos = 0;
        if let Some(matcher) = &self.matcher {
            while let Some(m) = self.find(matcher, buffer, pos) {
                if m.start() >= end {
                    break;
                }
                emit(&buffer[pos..m.start()]);
                emit(&self.replacements[m.pattern().as_usize()]);
                pos = m.end();
            }
        }
        if pos < end {
            emit(&buffer[pos..end]);
            pos = end;
        }
        pos
    }

    /// The stream ended: what is held is no secret, since no secret can complete it.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let held = std::mem::take(&mut self.held);
        match &self.matcher {
            // The held tail holds no complete match (it would have been decided), but be exact.
            Some(matcher) => {
                out.extend_from_slice(&matcher.replace_all_bytes(&held, &self.replacements))
            }
            None => out.extend_from_slice(&held),
        }
    }

    /// The leftmost-longest match in `haystack` that starts at `from` or later, as
    /// `matcher.find` would give it, found with the sampler when there is one.
    fn find(&self, matcher: &AhoCorasick, haystack: &[u8], from: usize) -> Option<Match> {
        let Some(sampler) = &self.sampler else {
            return matcher.find(Input::new(haystack).range(from..));
        };
        let mut at = from;
        while let Some(gram) = gram(haystack, at) {
            if sampler.may_hold(gram) {
                // Every match starting in `at - reach..=at` holds this sample in its first
                // `m` bytes, at offset `at - start`: the sampler lists every such place. None
                // starts earlier (its own sample would have been found first).
                let mut best: Option<Match> = None;
                for &(pattern, offset) in sampler.places(gram) {
                    let Some(start) = at.checked_sub(offset as usize) else {
                        continue;
                    };
                    let secret = &self.patterns[pattern as usize];
                    let better = best.is_none_or(|b| {
                        start < b.start() || start == b.start() && secret.len() > b.len()
                    });
                    if better && start >= from && haystack[start..].starts_with(secret) {
                        let id = PatternID::new_unchecked(pattern as usize);
                        best = Some(Match::new(id, start..start + secret.len()));
                    }
                }
                if best.is_some() {
                    return best;
                }
            }
            at += sampler.stride;
        }
        None
    }

    /// Earliest `q >= pos` such that `buffer[q..]` is a proper prefix of some secret, or the
    /// buffer's length when there is none.
    fn partial_start(&self, buffer: &[u8], pos: usize) -> usize {
        let first = pos.max(buffer.len().saturating_sub(self.longest.saturating_sub(1)));
        (first..buffer.len())
            .find(|&q| {
                self.starts[buffer[q] as usize]
                    && buffer
                        .get(q + 1)
                        .is_none_or(|&next| self.starts_pair(buffer[q], next))
                    && self.is_proper_prefix(&buffer[q..])
            })
            .unwrap_or(buffer.len())
    }

    fn starts_pair(&self, first: u8, second: u8) -> bool {
        let pair = usize::from(first) << 8 | usize::from(second);
        self.pairs[pair / 64] >> (pair % 64) & 1 == 1
    }

    /// Is `tail` a proper prefix of some secret? The secrets that start with it follow one
    /// another in sorted order, the one equal to it (if any) first.
    fn is_proper_prefix(&self, tail: &[u8]) -> bool {
        let first = self
            .sorted
            .partition_point(|&p| self.patterns[p].as_slice() < tail);
        self.sorted[first..].iter().take(2).any(|&p| {
            let pattern = &self.patterns[p];
            pattern.len() > tail.len() && pattern.starts_with(tail)
        })
    }

    /// No value is long enough to be masked: the output would pass unchanged.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none()
    }

    /// The one-shot replacement of a whole input: what the stream must equal. It uses the
    /// automaton alone, so the tests that compare the two also check the sampler.
    #[cfg(test)]
    pub fn replace_all(&self, input: &[u8]) -> Vec<u8> {
        match &self.matcher {
            Some(matcher) => matcher.replace_all_bytes(input, &self.replacements),
            None => input.to_vec(),
        }
    }
}

/// A search that skips most of the text. With 100 secrets the automaton alone runs at a few
/// hundred MB/s (its SIMD prefilter gives up beyond 64 patterns), far below a pipe; this one
/// reads one 4-byte sample every `stride` bytes.
///
/// Let `m` be the length of the shortest secret. Every match covers `m` bytes, so among
/// samples taken every `m - 3` bytes, one lies wholly inside the first `m` bytes of any match.
/// The 4-byte grams in the first `m` bytes of each secret are kept twice: as a hashed bitmap
/// (32 KiB, so that it stays in the L1 cache), which rules out almost every sample at once,
/// and as a sorted table of (gram, secret, offset), which names the only secrets, and where
/// they would start, that a sample left standing can belong to: each is checked directly.
struct Sampler {
    bits: Box<[u64]>,
    /// (gram, secret, offset) for every gram in the first `m` bytes of every secret, sorted.
    places: Vec<(u32, (u32, u32))>,
    /// `m - 3`: the distance between samples.
    stride: usize,
}

/// 2^18 bits: with 100 secrets of 32 bytes, about 1 sample in 100 is a false alarm, which
/// costs a look-up in the table.
const SAMPLER_BITS: u32 = 18;

impl Sampler {
    fn new(patterns: &[Vec<u8>]) -> Option<Sampler> {
        let shortest = patterns.iter().map(Vec::len).min()?;
        if shortest < 4 {
            return None;
        }
        let mut bits = vec![0u64; 1 << (SAMPLER_BITS - 6)].into_boxed_slice();
        let mut places = Vec::with_capacity(patterns.len() * (shortest - 3));
        for (index, pattern) in patterns.iter().enumerate() {
            for at in 0..=shortest - 4 {
                if let Some(g) = gram(pattern, at) {
                    let h = Self::slot(g);
                    bits[h / 64] |= 1 << (h % 64);
                    places.push((g, (u32::try_from(index).ok()?, u32::try_from(at).ok()?)));
                }
            }
        }
        places.sort_unstable();
        Some(Sampler {
            bits,
            places,
            stride: shortest - 3,
        })
    }

    fn slot(gram: u32) -> usize {
        (gram.wrapping_mul(0x9E37_79B1) >> (32 - SAMPLER_BITS)) as usize
    }

    fn may_hold(&self, gram: u32) -> bool {
        let h = Self::slot(gram);
        self.bits[h / 64] >> (h % 64) & 1 == 1
    }

    /// (secret, offset) of each place where `gram` occurs in the first `m` bytes of a secret.
    fn places(&self, gram: u32) -> impl Iterator<Item = &(u32, u32)> {
        let first = self.places.partition_point(|p| p.0 < gram);
        self.places[first..]
            .iter()
            .take_while(move |p| p.0 == gram)
            .map(|(_, place)| place)
    }
}

/// The 4 bytes at `at`, when there are 4.
fn gram(bytes: &[u8], at: usize) -> Option<u32> {
    let four = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(four.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terminal_rule() {
        let pipe = |ino| {
            Some(Descriptor {
                terminal: false,
                file: (1, ino),
            })
        };
        let tty = Some(Descriptor {
            terminal: true,
            file: (2, 7),
        });
        let routes_of = |stdout, stderr| Routes {
            stdout,
            stderr,
            ..Routes::default()
        };
        let rows = [
            (MaskWhen::Auto, pipe(1), pipe(2), routes_of(true, true)),
            (MaskWhen::Auto, tty, pipe(2), routes_of(false, true)),
            (MaskWhen::Auto, pipe(1), tty, routes_of(true, false)),
            (MaskWhen::Auto, tty, tty, routes_of(false, false)),
            (MaskWhen::Auto, None, pipe(2), routes_of(false, true)),
            (
                MaskWhen::Always,
                tty,
                pipe(2),
                Routes {
                    stdout_pty: true,
                    ..routes_of(true, true)
                },
            ),
            (
                MaskWhen::Always,
                pipe(1),
                tty,
                Routes {
                    stderr_pty: true,
                    ..routes_of(true, true)
                },
            ),
            (MaskWhen::Always, None, None, routes_of(false, false)),
            (
                MaskWhen::Auto,
                pipe(1),
                pipe(1),
                Routes {
                    shared: true,
                    ..routes_of(true, true)
                },
            ),
            (
                MaskWhen::Always,
                tty,
                tty,
                Routes {
                    stdout: true,
                    stderr: true,
                    shared: true,
                    stdout_pty: true,
                    stderr_pty: true,
                },
            ),
        ];
        for (when, stdout, stderr, want) in rows {
            assert_eq!(
                routes(when, stdout, stderr),
                want,
                "{when:?} {stdout:?} {stderr:?}"
            );
        }
    }

    use proptest::prelude::*;

    fn redactor(secrets: &[(&str, &str)]) -> Redactor {
        Redactor::new(
            secrets.iter().map(|(n, v)| (*n, v.as_bytes())),
            DEFAULT_MIN_LEN,
        )
        .unwrap()
    }

    fn stream(r: &mut Redactor, writes: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in writes {
            r.push(w, &mut out);
        }
        r.finish(&mut out);
        out
    }

    const SECRETS: &[(&str, &str)] = &[("KEY", "k-123456"), ("TOKEN", "tok-abcdef")];

    #[test]
    fn a_secret_split_at_every_boundary_in_two_and_three_writes() {
        let input = b"before k-123456 middle tok-abcdef after".as_slice();
        let want = b"before [masked:KEY] middle [masked:TOKEN] after".to_vec();
        for i in 0..=input.len() {
            let mut r = redactor(SECRETS);
            assert_eq!(
                stream(&mut r, &[&input[..i], &input[i..]]),
                want,
                "split at {i}"
            );
            for j in i..=input.len() {
                let mut r = redactor(SECRETS);
                let got = stream(&mut r, &[&input[..i], &input[i..j], &input[j..]]);
                assert_eq!(got, want, "split at {i} and {j}");
            }
        }
    }

    #[test]
    fn byte_by_byte_never_leaks_a_prefix_early() {
        let mut r = redactor(SECRETS);
        let mut out = Vec::new();
        for b in b"x k-12345" {
            r.push(&[*b], &mut out);
        }
        // "k-12345" may still become the secret: nothing of it is out yet.
        assert_eq!(out, b"x ");
        r.push(b"6!", &mut out);
        assert_eq!(out, b"x [masked:KEY]!");
    }

    #[test]
    fn bytes_that_cannot_start_a_secret_are_written_at_once() {
        let mut r = redactor(SECRETS);
        let mut out = Vec::new();
        r.push(b"hello world\n", &mut out);
        assert_eq!(out, b"hello world\n");
        r.push(b"line two k", &mut out);
        assert_eq!(out, b"hello world\nline two ");
    }

    #[test]
    fn overlapping_and_prefix_secrets_take_the_longest() {
        let r = redactor(&[
            ("SHORT", "secret1"),
            ("LONG", "secret12345"),
            ("MID", "t12345-x"),
        ]);
        let rows: &[(&[u8], &[u8])] = &[
            (b"secret12345", b"[masked:LONG]"),
            (b"secret1234", b"[masked:SHORT]234"),
            (b"secret1 ", b"[masked:SHORT] "),
            (b"secret12345-x", b"[masked:LONG]-x"),
            (b"secret1secret1", b"[masked:SHORT][masked:SHORT]"),
        ];
        for (input, want) in rows {
            assert_eq!(
                r.replace_all(input),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
            for i in 0..=input.len() {
                let mut s = redactor(&[
                    ("SHORT", "secret1"),
                    ("LONG", "secret12345"),
                    ("MID", "t12345-x"),
                ]);
                assert_eq!(stream(&mut s, &[&input[..i], &input[i..]]), *want);
            }
        }
    }

    #[test]
    fn adjacent_secrets_and_a_secret_at_the_very_end() {
        let mut r = redactor(SECRETS);
        assert_eq!(
            stream(&mut r, &[b"k-123456tok-abcdef", b"", b"k-123456"]),
            b"[masked:KEY][masked:TOKEN][masked:KEY]"
        );
    }

    #[test]
    fn empty_writes_binary_and_escape_sequences_pass_through() {
        let mut r = redactor(SECRETS);
        let input: &[u8] = b"\x1b[31mred\x1b[0m \xff\xfe\x00\r\n k-12 \x1b[1mk-123456\x1b[0m";
        let got = stream(&mut r, &[b"", &input[..9], b"", &input[9..]]);
        assert_eq!(
            got,
            b"\x1b[31mred\x1b[0m \xff\xfe\x00\r\n k-12 \x1b[1m[masked:KEY]\x1b[0m"
        );
    }

    #[test]
    fn multi_line_secrets_match_whole() {
        let pem = "-----BEGIN KEY-----\nabc\ndef\n-----END KEY-----";
        let mut r = redactor(&[("PEM", pem)]);
        let input = format!("key: {pem}\nnext");
        let (a, b) = input.as_bytes().split_at(12);
        assert_eq!(stream(&mut r, &[a, b]), b"key: [masked:PEM]\nnext");
    }

    #[test]
    fn short_values_are_not_masked_and_the_minimum_is_settable() {
        let mut r = redactor(&[("PORT", "8501"), ("EMPTY", "")]);
        assert_eq!(stream(&mut r, &[b"port 8501"]), b"port 8501");
        let mut r = Redactor::new([("PORT", b"8501".as_slice())], 4).unwrap();
        assert_eq!(stream(&mut r, &[b"port 8501"]), b"port [masked:PORT]");
    }

    #[test]
    fn no_secrets_is_a_plain_copy() {
        assert!(redactor(&[("SHORT", "12345")]).is_empty());
        assert!(!redactor(&[("SHORT", "12345"), ("LONG", "123456")]).is_empty());
        let mut r = Redactor::new([], DEFAULT_MIN_LEN).unwrap();
        let mut out = Vec::new();
        r.push(b"abc", &mut out);
        assert_eq!(out, b"abc");
    }

    #[test]
    fn a_held_prefix_that_never_completes_is_written_at_the_end() {
        let mut r = redactor(SECRETS);
        let mut out = Vec::new();
        r.push(b"id k-1234", &mut out);
        assert_eq!(out, b"id ");
        r.finish(&mut out);
        assert_eq!(out, b"id k-1234");
    }

    #[test]
    fn binary_secrets_match_byte_for_byte() {
        let secret: Vec<u8> = (0..=255u8).rev().collect();
        let r = Redactor::new([("BIN", secret.as_slice())], DEFAULT_MIN_LEN).unwrap();
        let mut input: Vec<u8> = (0..=255u8).collect();
        input.extend_from_slice(&secret);
        input.extend_from_slice(&secret[..100]);
        let mut want: Vec<u8> = (0..=255u8).collect();
        want.extend_from_slice(b"[masked:BIN]");
        want.extend_from_slice(&secret[..100]);
        for cut in [0, 1, 255, 256, 300, 511, 512, input.len()] {
            let (a, b) = input.split_at(cut);
            let mut r2 = Redactor::new([("BIN", secret.as_slice())], DEFAULT_MIN_LEN).unwrap();
            assert_eq!(stream(&mut r2, &[a, b]), want, "cut at {cut}");
        }
        assert_eq!(r.replace_all(&input), want);
    }

    #[test]
    fn a_longer_match_is_not_lost_behind_a_shorter_one_inside_it() {
        // LONG starts one byte after a sample that THIRD's grams make a hit, and reaches past
        // that sample's window, which does hold SHORT: LONG must still win.
        let secrets = [
            ("LONG", b"xyzw0123456789".as_slice()),
            ("SHORT", b"345678".as_slice()),
            ("THIRD", b"qxyzab".as_slice()),
        ];
        for pad in 0..6 {
            let input = format!("{}qxyzw0123456789 end", "-".repeat(pad));
            let r = Redactor::new(secrets, DEFAULT_MIN_LEN).unwrap();
            let matcher = r.matcher.as_ref().unwrap();
            for from in 0..input.len() {
                assert_eq!(
                    r.find(matcher, input.as_bytes(), from),
                    matcher.find(Input::new(&input).range(from..)),
                    "pad {pad}, from {from}"
                );
            }
            let want = format!("{}q[masked:LONG] end", "-".repeat(pad));
            assert_eq!(r.replace_all(input.as_bytes()), want.as_bytes());
            let mut r = Redactor::new(secrets, DEFAULT_MIN_LEN).unwrap();
            assert_eq!(stream(&mut r, &[input.as_bytes()]), want.as_bytes());
        }
    }

    #[test]
    fn values_kept_from_the_environment_are_masked_as_well() {
        use crate::environment::{Pair, Settings, compose};
        let var = Variable::test;
        let variables = [var("KEY", "file-value"), var("OTHER", "other-value")];
        let inherited = vec![
            Pair::new("KEY".as_ref(), "inherited-value".as_ref()),
            Pair::new("HOME".as_ref(), "/home/someone".as_ref()),
        ];
        let settings = Settings {
            no_override: true,
            ..Settings::default()
        };
        let composed = compose(inherited.clone(), &variables, &settings);
        assert_eq!(
            values_to_mask(&variables, &composed),
            [
                ("KEY", b"file-value".as_slice()),
                ("KEY", b"inherited-value".as_slice()),
                ("OTHER", b"other-value".as_slice()),
            ]
        );
        // Without `--no-override` the file wins and the inherited value is gone.
        let composed = compose(inherited, &variables, &Settings::default());
        assert_eq!(
            values_to_mask(&variables, &composed),
            [
                ("KEY", b"file-value".as_slice()),
                ("OTHER", b"other-value".as_slice()),
            ]
        );
    }

    /// Feed `input` to the redactor in pieces cut at `cuts` (any order, clamped), then finish.
    fn stream_cut(mut r: Redactor, input: &[u8], cuts: Vec<usize>) -> Vec<u8> {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
        cuts.sort_unstable();
        let mut out = Vec::new();
        let mut last = 0;
        for cut in cuts {
            r.push(&input[last..cut], &mut out);
            last = cut;
        }
        r.push(&input[last..], &mut out);
        r.finish(&mut out);
        out
    }

    proptest! {
        #[test]
        fn streaming_equals_one_shot(
            secrets in prop::collection::vec("[ab]{1,5}c?[ab]{0,4}", 1..5),
            input in prop::collection::vec(prop::sample::select(b"abcx\n".to_vec()), 0..200),
            cuts in prop::collection::vec(0usize..200, 0..8),
        ) {
            let named: Vec<(String, String)> =
                secrets.iter().enumerate().map(|(i, s)| (format!("S{i}"), s.clone())).collect();
            let make = || Redactor::new(named.iter().map(|(n, v)| (n.as_str(), v.as_bytes())), 2).unwrap();
            let want = make().replace_all(&input);
            prop_assert_eq!(stream_cut(make(), &input, cuts), want);
        }

        #[test]
        fn the_sampler_finds_what_the_automaton_finds(
            secrets in prop::collection::vec("[ab]{2,6}c?[ab]{2,8}", 1..8),
            input in prop::collection::vec(prop::sample::select(b"abcx".to_vec()), 0..300),
            cuts in prop::collection::vec(0usize..300, 0..6),
        ) {
            let named: Vec<(String, String)> =
                secrets.iter().enumerate().map(|(i, s)| (format!("S{i}"), s.clone())).collect();
            let make = || Redactor::new(named.iter().map(|(n, v)| (n.as_str(), v.as_bytes())), 4).unwrap();
            let r = make();
            prop_assert!(r.sampler.is_some());
            let matcher = r.matcher.as_ref().unwrap();
            for from in 0..=input.len() {
                prop_assert_eq!(
                    r.find(matcher, &input, from),
                    matcher.find(Input::new(&input).range(from..))
                );
            }
            prop_assert_eq!(stream_cut(make(), &input, cuts), make().replace_all(&input));
        }

        #[test]
        fn at_most_a_secret_less_one_byte_is_held(
            secrets in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..12), 1..6),
            writes in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..20),
        ) {
            let named: Vec<(String, &[u8])> =
                secrets.iter().enumerate().map(|(i, s)| (format!("S{i}"), s.as_slice())).collect();
            let longest = secrets.iter().map(Vec::len).max().unwrap_or(0);
            let mut r = Redactor::new(named.iter().map(|(n, v)| (n.as_str(), *v)), 1).unwrap();
            let mut out = Vec::new();
            for w in &writes {
                r.push(w, &mut out);
                prop_assert!(r.held.len() < longest, "held {} of {longest}", r.held.len());
            }
            r.finish(&mut out);
            prop_assert_eq!(out, r.replace_all(&writes.concat()));
        }
    }
}
