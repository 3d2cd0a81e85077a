//! PURE: the streaming redactor behind `--mask` (issue 5).
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

use aho_corasick::{AhoCorasick, MatchKind};

pub const DEFAULT_MIN_LEN: usize = 6;

pub struct Redactor {
    matcher: Option<AhoCorasick>,
    patterns: Vec<Vec<u8>>,
    replacements: Vec<Vec<u8>>,
    /// `starts[b]`: some secret begins with byte `b` (a cheap filter for the held tail).
    starts: [bool; 256],
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
        for pattern in &patterns {
            starts[pattern[0] as usize] = true;
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
            matcher,
            patterns,
            replacements,
            starts,
            held: Vec::new(),
        })
    }

    /// Feed bytes; append to `out` everything that is decided.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let Some(matcher) = &self.matcher else {
            out.extend_from_slice(input);
            return;
        };
        // Only the held tail (shorter than the longest secret) is copied, not the whole input.
        let joined;
        let buffer: &[u8] = if self.held.is_empty() {
            input
        } else {
            self.held.extend_from_slice(input);
            joined = std::mem::take(&mut self.held);
            &joined
        };
        let mut pos = 0;
        let mut partial = self.partial_start(buffer, 0);
        let hold_from = loop {
            if partial < pos {
                // A match ran past the candidate tail: look again behind it.
                partial = self.partial_start(buffer, pos);
            }
            match matcher.find(&buffer[pos..]) {
                Some(m) if pos + m.start() < partial => {
                    out.extend_from_slice(&buffer[pos..pos + m.start()]);
                    out.extend_from_slice(&self.replacements[m.pattern().as_usize()]);
                    pos += m.end();
                }
                _ => break partial,
            }
        };
        out.extend_from_slice(&buffer[pos..hold_from]);
        self.held = buffer[hold_from..].to_vec();
    }

    /// The stream ended: what is held is no secret, since no secret can complete it.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let held = std::mem::take(&mut self.held);
        if let Some(matcher) = &self.matcher {
            // The held tail holds no complete match (it would have been decided), but be exact.
            let replaced = matcher.replace_all_bytes(&held, &self.replacements);
            out.extend_from_slice(&replaced);
        } else {
            out.extend_from_slice(&held);
        }
    }

    /// Earliest `q >= pos` such that `buffer[q..]` is a proper prefix of some secret, or the
    /// buffer's length when there is none.
    fn partial_start(&self, buffer: &[u8], pos: usize) -> usize {
        let first = pos.max(buffer.len().saturating_sub(self.longest.saturating_sub(1)));
        (first..buffer.len())
            .find(|&q| {
                self.starts[buffer[q] as usize] && {
                    let tail = &buffer[q..];
                    self.patterns
                        .iter()
                        .any(|p| p.len() > tail.len() && p.starts_with(tail))
                }
            })
            .unwrap_or(buffer.len())
    }

    /// The one-shot replacement of a whole input: what the stream must equal.
    pub fn replace_all(&self, input: &[u8]) -> Vec<u8> {
        match &self.matcher {
            Some(matcher) => matcher.replace_all_bytes(input, &self.replacements),
            None => input.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let mut r = Redactor::new([], DEFAULT_MIN_LEN).unwrap();
        let mut out = Vec::new();
        r.push(b"abc", &mut out);
        assert_eq!(out, b"abc");
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
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort_unstable();
            let mut r = make();
            let mut out = Vec::new();
            let mut last = 0;
            for cut in cuts {
                r.push(&input[last..cut], &mut out);
                last = cut;
            }
            r.push(&input[last..], &mut out);
            r.finish(&mut out);
            prop_assert_eq!(out, want);
        }
    }
}
