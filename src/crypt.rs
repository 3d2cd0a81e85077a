//! PURE: dotenvx's encryption scheme (SPEC §15), byte for byte: ECIES on secp256k1 with
//! AES-256-GCM and HKDF-SHA256 as eciesjs does it by default (an uncompressed 65-byte
//! ephemeral key, a 16-byte nonce), `encrypted:` and standard base64 in front; keys in hex, the
//! public one compressed. The cryptography is the `ecies` crate's (by eciesjs' author); this
//! module only spells keys and values the way dotenvx does, and reads its `.env.keys`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// What marks an encrypted value.
pub const PREFIX: &str = "encrypted:";
/// The root key that holds a file's public key.
pub const PUBLIC_KEY: &str = "DOTENV_PUBLIC_KEY";
/// The variable (and `.env.keys` entry) that holds private keys.
pub const PRIVATE_KEY: &str = "DOTENV_PRIVATE_KEY";

/// Is this a value to decrypt?
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// A private key with its public key. Never printed: `Debug` hides it.
#[derive(Clone)]
pub struct PrivateKey {
    secret: ecies::SecretKey,
    public: String,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey(for {})", self.public)
    }
}

impl PrivateKey {
    /// A key written as 64 hex digits, as dotenvx writes it.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = hex_decode(text.trim())?;
        let secret = ecies::SecretKey::parse_slice(&bytes).ok()?;
        Some(Self::from_secret(secret))
    }

    /// A new key from the operating system's random bits (rejection sampling, as `ecies`
    /// itself does it: the rare 32 bytes that are no valid scalar are drawn again).
    pub fn generate() -> Result<Self, getrandom::Error> {
        loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)?;
            if let Ok(secret) = ecies::SecretKey::parse_slice(&bytes) {
                return Ok(Self::from_secret(secret));
            }
        }
    }

    fn from_secret(secret: ecies::SecretKey) -> Self {
        let public = ecies::PublicKey::from_secret_key(&secret).serialize_compressed();
        Self {
            public: hex_encode(&public),
            secret,
        }
    }

    /// The public key as dotenvx writes `DOTENV_PUBLIC_KEY`: 66 hex digits, compressed.
    pub fn public(&self) -> &str {
        &self.public
    }

    /// The key as 64 hex digits, for the keys file only.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.secret.serialize())
    }

    /// The plaintext of an `encrypted:` value, or `None` when this key does not open it (the
    /// wrong key, or a value whose tag fails: changed, cut, or not base64).
    pub fn open(&self, value: &str) -> Option<Vec<u8>> {
        let sealed = STANDARD.decode(value.strip_prefix(PREFIX)?.trim()).ok()?;
        ecies::decrypt(&self.secret.serialize(), &sealed).ok()
    }
}

/// A public key in hex that `seal` cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{PUBLIC_KEY}` is not a secp256k1 public key (66 hex digits, as dotenvx writes it)")]
pub struct BadPublicKey;

/// Check a public key's spelling without sealing anything.
pub fn parse_public(public: &str) -> Result<Vec<u8>, BadPublicKey> {
    let bytes = hex_decode(public.trim()).ok_or(BadPublicKey)?;
    ecies::PublicKey::parse_slice(&bytes, None).map_err(|_| BadPublicKey)?;
    Ok(bytes)
}

/// Encrypt `plain` for `public` (hex): `encrypted:` and base64, as `dotenvx encrypt` writes it.
pub fn seal(public: &str, plain: &str) -> Result<String, BadPublicKey> {
    let key = parse_public(public)?;
    let sealed = ecies::encrypt(&key, plain.as_bytes()).map_err(|_| BadPublicKey)?;
    Ok(format!("{PREFIX}{}", STANDARD.encode(sealed)))
}

/// The private keys of `DOTENV_PRIVATE_KEY`: comma-separated, blanks ignored.
pub fn split_keys(variable: &str) -> impl Iterator<Item = &str> {
    variable.split(',').map(str::trim).filter(|k| !k.is_empty())
}

/// The private keys in a `.env.keys` text: every `DOTENV_PRIVATE_KEY…=` line (dotenvx names
/// one per environment, `DOTENV_PRIVATE_KEY_PRODUCTION`), quoted or not, `export` allowed, in
/// file order; each may itself hold several comma-separated keys.
pub fn keys_file_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let is_key = name.strip_prefix(PRIVATE_KEY).is_some_and(|rest| {
            rest.is_empty()
                || (rest.starts_with('_')
                    && rest.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()))
        });
        if !is_key {
            continue;
        }
        let value = value.trim();
        let value = value.split(" #").next().unwrap_or(value).trim();
        let unquoted = ['"', '\'', '`']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)));
        keys.extend(split_keys(unquoted.unwrap_or(value)).map(str::to_string));
    }
    keys
}

/// The header dotenvx puts at the top of a new `.env.keys`.
pub const KEYS_FILE_HEADER: &str = "#/------------------!DOTENV_PRIVATE_KEYS!-------------------/
#/ private decryption keys. DO NOT commit to source control /
#/     [how it works](https://dotenvx.com/encryption)       /
#/----------------------------------------------------------/
";

/// The lines that add `key` to a keys file whose text so far is `existing` (empty for a new
/// file): dotenvx's header first when new, then `# FILE` and `DOTENV_PRIVATE_KEY=…`, as
/// dotenvx writes them.
pub fn keys_file_entry(existing: &str, file: &str, key: &PrivateKey) -> String {
    let mut out = String::new();
    if existing.trim().is_empty() {
        out.push_str(KEYS_FILE_HEADER);
    } else if !existing.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("\n# {file}\n{PRIVATE_KEY}={}\n", key.to_hex()));
    out
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key pair and a value that the real `dotenvx encrypt` (2.38) wrote.
    const DOTENVX_PRIVATE: &str =
        "c5f08b635b272fc7fa760cffbd759a647b57b2ec1226288e4afc0824cd780a68";
    const DOTENVX_PUBLIC: &str =
        "02a068442d14fdf6681a25636f3086ede5c0774967658cdf24915134885e0f28af";
    const DOTENVX_HELLO: &str = "encrypted:BGZxWb9AUbaG/LYV9BXStbhVCBRQsD6t0m0ZRPFZb+BIfu1p4qVYAiLX8PzgHSGsw+UeARZYgEByIQ5KinTaPpMvt+46WdwTeEyKLIuefI4GiHkmpp9nIcjFMUjlMmieA9y2tnQL";
    const DOTENVX_EMPTY: &str = "encrypted:BAUjYUYfwMu79KUTH4JwtcX8K0muuog64VRtr6BNe0YstbSBRgbNWZSB5XAH++qi3XZLToFBJpbZXtLjN3QlzwBDgfBNVgU7VBFkoQ1n670NHHcmUZQC8uHdS4g0kXOUNQ==";

    #[test]
    fn opens_what_dotenvx_wrote() {
        let key = PrivateKey::parse(DOTENVX_PRIVATE).unwrap();
        assert_eq!(key.public(), DOTENVX_PUBLIC);
        assert_eq!(key.open(DOTENVX_HELLO).unwrap(), b"hello");
        assert_eq!(key.open(DOTENVX_EMPTY).unwrap(), b"");
    }

    #[test]
    fn tampered_cut_or_foreign_values_do_not_open() {
        let key = PrivateKey::parse(DOTENVX_PRIVATE).unwrap();
        let other = PrivateKey::generate().unwrap();
        assert!(other.open(DOTENVX_HELLO).is_none(), "another key");
        let mut flipped = DOTENVX_HELLO.to_string().into_bytes();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        for bad in [
            flipped.as_str(),
            &DOTENVX_HELLO[..DOTENVX_HELLO.len() - 4],
            "encrypted:",
            "encrypted:!!notbase64",
            "hello",
        ] {
            assert!(key.open(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn seals_in_dotenvx_shape_and_round_trips() {
        let key = PrivateKey::generate().unwrap();
        assert_eq!(key.to_hex().len(), 64);
        assert_eq!(key.public().len(), 66);
        assert!(key.public().starts_with("02") || key.public().starts_with("03"));
        assert_eq!(
            PrivateKey::parse(&key.to_hex()).unwrap().public(),
            key.public()
        );
        for plain in [
            "",
            "x",
            "multi\nline",
            "quote\"'`\\",
            "é ß 😀",
            &"k".repeat(65536),
        ] {
            let sealed = seal(key.public(), plain).unwrap();
            assert!(is_sealed(&sealed));
            // 65-byte ephemeral key, 16-byte nonce, 16-byte tag, then the text.
            let raw = STANDARD.decode(&sealed[PREFIX.len()..]).unwrap();
            assert_eq!(raw.len(), 65 + 16 + 16 + plain.len());
            assert_eq!(raw[0], 4, "uncompressed ephemeral key");
            assert_eq!(key.open(&sealed).unwrap(), plain.as_bytes());
            assert_ne!(
                seal(key.public(), plain).unwrap(),
                sealed,
                "fresh each time"
            );
        }
        assert_eq!(seal("02zz", "x"), Err(BadPublicKey));
        assert_eq!(seal(&DOTENVX_PUBLIC[..64], "x"), Err(BadPublicKey));
    }

    #[test]
    fn private_key_spellings() {
        assert!(PrivateKey::parse(&format!(" {DOTENVX_PRIVATE}\n")).is_some());
        assert!(PrivateKey::parse(&DOTENVX_PRIVATE.to_uppercase()).is_some());
        for bad in [
            "",
            "zz",
            &DOTENVX_PRIVATE[1..],
            &"0".repeat(64),
            &"f".repeat(64),
        ] {
            assert!(PrivateKey::parse(bad).is_none(), "{bad}");
        }
        let shown = format!("{:?}", PrivateKey::parse(DOTENVX_PRIVATE).unwrap());
        assert!(!shown.contains(DOTENVX_PRIVATE), "{shown}");
    }

    #[test]
    fn keys_file_in_dotenvx_format() {
        let text = format!(
            "{KEYS_FILE_HEADER}\n# .env\nDOTENV_PRIVATE_KEY={DOTENVX_PRIVATE}\n# .env.production\nexport DOTENV_PRIVATE_KEY_PRODUCTION=\"aa, bb\" # note\nDOTENV_PRIVATE_KEYS=no\nOTHER=cc\n#DOTENV_PRIVATE_KEY=dd\n"
        );
        assert_eq!(keys_file_keys(&text), [DOTENVX_PRIVATE, "aa", "bb"]);
        assert_eq!(split_keys(" a, ,b ,").collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn keys_file_entries_append() {
        let key = PrivateKey::parse(DOTENVX_PRIVATE).unwrap();
        let new = keys_file_entry("", "s.toml", &key);
        assert_eq!(
            new,
            format!("{KEYS_FILE_HEADER}\n# s.toml\nDOTENV_PRIVATE_KEY={DOTENVX_PRIVATE}\n")
        );
        assert_eq!(
            keys_file_entry("X=1", "s.toml", &key),
            format!("\n\n# s.toml\nDOTENV_PRIVATE_KEY={DOTENVX_PRIVATE}\n")
        );
        assert_eq!(keys_file_keys(&new), [DOTENVX_PRIVATE]);
    }
}
