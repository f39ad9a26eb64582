//! Slack tokens sealed at rest: every installation's bot token (and refresh token) is stored
//! encrypted, so a dump of the database alone cannot call Slack.
//!
//! **The algorithm**: XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`), an AEAD whose 24-byte
//! nonce is drawn at random for every seal (`rand`'s `OsRng`): random nonces that long never
//! collide in practice, so no counter has to be kept anywhere.
//!
//! **The format** of a sealed token: `v1.<key id>.<nonce ‖ ciphertext ‖ tag>`, the last part in
//! URL-safe base64 without padding. The key id is the first 8 hex digits of the key's SHA-256:
//! it names the key without revealing it, so a token sealed with a key being rotated out is
//! recognised and opened with `TOKEN_ENCRYPTION_KEY_PREVIOUS`.
//!
//! **The associated data** binds a sealed token to its row and purpose: `bot:<team_id>` for a
//! bot token, `refresh:<team_id>` for a refresh token ([`bot_aad`], [`refresh_aad`]). A sealed
//! token copied into another workspace's row, or from the refresh column into the bot column,
//! does not open.
//!
//! Keys come from `TOKEN_ENCRYPTION_KEY` (32 random bytes in standard base64, as
//! `openssl rand -base64 32` prints) and, while rotating, `TOKEN_ENCRYPTION_KEY_PREVIOUS`
//! (`config::workspaces` reads them). `Debug` shows key ids only; errors never show a token, a
//! key or a sealed value.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::TryRngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The first part of every sealed token: the format's version.
pub const VERSION: &str = "v1";
/// A key's length in bytes.
pub const KEY_BYTES: usize = 32;
/// XChaCha20's nonce length in bytes.
const NONCE_BYTES: usize = 24;
/// Poly1305's tag length in bytes.
const TAG_BYTES: usize = 16;

/// Standard base64, with or without its `=` padding (people trim it when pasting).
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The associated data of a workspace's bot token.
pub fn bot_aad(team_id: &str) -> String {
    format!("bot:{team_id}")
}

/// The associated data of a workspace's refresh token.
pub fn refresh_aad(team_id: &str) -> String {
    format!("refresh:{team_id}")
}

/// One key, and its id.
#[derive(Clone)]
pub struct TokenKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// What is wrong with a key as configured (the caller names the variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("it is not 32 bytes of base64: use the output of `openssl rand -base64 32`")]
    NotAKey,
}

impl TokenKey {
    pub fn from_bytes(bytes: &[u8; KEY_BYTES]) -> TokenKey {
        let digest = Sha256::digest(bytes);
        TokenKey {
            id: hex::encode(&digest[..4]),
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// A key written as 32 bytes of standard base64 (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<TokenKey, KeyError> {
        let bytes = STANDARD_LENIENT
            .decode(text.trim())
            .map_err(|_| KeyError::NotAKey)?;
        let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| KeyError::NotAKey)?;
        Ok(TokenKey::from_bytes(&bytes))
    }

    /// The first 8 hex digits of the key's SHA-256.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TokenKey").field(&self.id).finish()
    }
}

/// The key tokens are sealed with, and the one being rotated out (opened, never sealed with).
#[derive(Clone)]
pub struct TokenKeys {
    current: TokenKey,
    previous: Option<TokenKey>,
}

/// Why a sealed token did not open. No variant carries a token, a key or the sealed text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Sealed with a key that is neither the current one nor the previous one.
    #[error(
        "a token sealed with key {key_id} cannot be opened: that key is neither \
         TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEY_PREVIOUS; set TOKEN_ENCRYPTION_KEY_PREVIOUS \
         to the key it was sealed with"
    )]
    UnknownKey { key_id: String },
    /// Not `v1.<key id>.<base64>`, or too short to hold a nonce and a tag.
    #[error("a sealed token is not in the {VERSION}.<key id>.<data> format")]
    Malformed,
    /// The key is known, but authentication failed: altered, or sealed for another row or purpose.
    #[error(
        "a token sealed with key {key_id} does not open: it was altered, or sealed for another \
         workspace or purpose"
    )]
    Rejected { key_id: String },
}

impl TokenKeys {
    pub fn new(current: TokenKey, previous: Option<TokenKey>) -> TokenKeys {
        TokenKeys { current, previous }
    }

    /// The id of the key [`TokenKeys::seal`] uses.
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// The id of the key being rotated out, if any.
    pub fn previous_id(&self) -> Option<&str> {
        self.previous.as_ref().map(TokenKey::id)
    }

    /// `token` sealed with the current key, bound to `aad` (`bot:<team_id>`, `refresh:<team_id>`).
    pub fn seal(&self, token: &SecretString, aad: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        // The operating system's generator failing is not a state the process can go on from.
        rand::rngs::OsRng
            .try_fill_bytes(&mut nonce)
            .expect("the operating system's random number generator failed");
        let sealed = self
            .current
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: token.expose_secret().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            // Encryption fails only for a message longer than XChaCha20 can count (256 GiB).
            .expect("a token is far below XChaCha20-Poly1305's limit");
        let mut data = Vec::with_capacity(NONCE_BYTES + sealed.len());
        data.extend_from_slice(&nonce);
        data.extend_from_slice(&sealed);
        format!(
            "{VERSION}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(data)
        )
    }

    /// The token `sealed` holds, if it was sealed with a key known here and bound to `aad`.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<SecretString, SealError> {
        let (key_id, data) = parts(sealed).ok_or(SealError::Malformed)?;
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id == key_id)
            .ok_or_else(|| SealError::UnknownKey {
                key_id: key_id.to_string(),
            })?;
        let data = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| SealError::Malformed)?;
        if data.len() < NONCE_BYTES + TAG_BYTES {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = data.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| SealError::Malformed)?;
        let rejected = || SealError::Rejected {
            key_id: key.id.clone(),
        };
        let plain = key
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| rejected())?;
        // Authenticated bytes that are not text were sealed by something else than `seal`.
        let text = String::from_utf8(plain).map_err(|_| rejected())?;
        Ok(SecretString::from(text))
    }

    /// Whether `sealed` was sealed with the current key (a key rotation reseals the others).
    pub fn sealed_with_current(&self, sealed: &str) -> bool {
        parts(sealed).is_some_and(|(key_id, _)| key_id == self.current.id)
    }
}

/// The key id and the data of a `v1.<key id>.<data>` text.
fn parts(sealed: &str) -> Option<(&str, &str)> {
    let mut parts = sealed.splitn(3, '.');
    let (version, key_id, data) = (parts.next()?, parts.next()?, parts.next()?);
    (version == VERSION && !key_id.is_empty() && !data.is_empty()).then_some((key_id, data))
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("current", &self.current.id)
            .field("previous", &self.previous.as_ref().map(|k| &k.id))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy";

    fn key(byte: u8) -> TokenKey {
        TokenKey::from_bytes(&[byte; KEY_BYTES])
    }

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_string())
    }

    fn opened(keys: &TokenKeys, sealed: &str, aad: &str) -> Result<String, SealError> {
        keys.open(sealed, aad)
            .map(|t| t.expose_secret().to_string())
    }

    #[test]
    fn a_sealed_token_opens_with_its_aad_and_shows_nothing_of_itself() {
        let keys = TokenKeys::new(key(1), None);
        let sealed = keys.seal(&secret(TOKEN), &bot_aad("T0ACME"));
        let id = keys.current_id().to_string();
        assert_eq!(id.len(), 8);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        let prefix = format!("v1.{id}.");
        assert!(sealed.starts_with(&prefix), "{sealed}");
        let data = &sealed[prefix.len()..];
        assert!(
            data.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "URL-safe base64 without padding: {data}"
        );
        assert_eq!(
            URL_SAFE_NO_PAD.decode(data).expect("base64").len(),
            NONCE_BYTES + TOKEN.len() + TAG_BYTES
        );
        assert!(!sealed.contains("xoxb") && !sealed.contains("pdFZ"));
        assert_eq!(opened(&keys, &sealed, "bot:T0ACME").as_deref(), Ok(TOKEN));
        assert_ne!(
            sealed,
            keys.seal(&secret(TOKEN), "bot:T0ACME"),
            "every seal draws a fresh nonce"
        );
    }

    #[test]
    fn the_key_id_is_the_start_of_the_keys_sha256() {
        // SHA-256 of 32 zero bytes is 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925.
        assert_eq!(key(0).id(), "66687aad");
        assert_ne!(key(1).id(), key(2).id());
    }

    #[test]
    fn a_token_copied_to_another_row_or_column_does_not_open() {
        let keys = TokenKeys::new(key(1), None);
        let sealed = keys.seal(&secret(TOKEN), &bot_aad("T0ACME"));
        let id = keys.current_id().to_string();
        for aad in [bot_aad("T0EVIL"), refresh_aad("T0ACME"), String::new()] {
            assert_eq!(
                opened(&keys, &sealed, &aad),
                Err(SealError::Rejected { key_id: id.clone() }),
                "{aad}"
            );
        }
    }

    #[test]
    fn any_tampering_is_refused() {
        let keys = TokenKeys::new(key(1), None);
        let aad = bot_aad("T0ACME");
        let sealed = keys.seal(&secret(TOKEN), &aad);
        let prefix_len = "v1.".len() + 8 + 1;
        let mut data = URL_SAFE_NO_PAD
            .decode(&sealed[prefix_len..])
            .expect("base64");
        for at in [0, NONCE_BYTES, data.len() - 1] {
            data[at] ^= 1;
            let altered = format!("{}{}", &sealed[..prefix_len], URL_SAFE_NO_PAD.encode(&data));
            assert!(
                matches!(keys.open(&altered, &aad), Err(SealError::Rejected { .. })),
                "byte {at} flipped"
            );
            data[at] ^= 1;
        }
        let truncated = &sealed[..sealed.len() - 4];
        assert!(keys.open(truncated, &aad).is_err());
        for malformed in [
            "",
            "xoxb-plain-token",
            "v2.00000000.AAAA",
            &sealed.replacen("v1.", "v2.", 1),
            &format!("{}.!!!", &sealed[..prefix_len - 1]),
            &format!("{}AAAA", &sealed[..prefix_len]),
        ] {
            let said = keys.open(malformed, &aad).expect_err(malformed);
            assert!(
                matches!(said, SealError::Malformed | SealError::UnknownKey { .. }),
                "{malformed}: {said:?}"
            );
        }
    }

    #[test]
    fn a_token_sealed_with_the_previous_key_opens_while_it_is_configured() {
        let old = TokenKeys::new(key(1), None);
        let sealed = old.seal(&secret(TOKEN), "bot:T0ACME");
        let rotating = TokenKeys::new(key(2), Some(key(1)));
        assert_eq!(
            opened(&rotating, &sealed, "bot:T0ACME").as_deref(),
            Ok(TOKEN)
        );
        assert!(old.sealed_with_current(&sealed));
        assert!(!rotating.sealed_with_current(&sealed));
        assert!(rotating.sealed_with_current(&rotating.seal(&secret(TOKEN), "bot:T0ACME")));
        assert!(!rotating.sealed_with_current("not sealed"));

        let forgotten = TokenKeys::new(key(2), None);
        let said = forgotten
            .open(&sealed, "bot:T0ACME")
            .expect_err("the old key is gone");
        assert_eq!(
            said,
            SealError::UnknownKey {
                key_id: key(1).id().to_string()
            }
        );
        let words = said.to_string();
        assert!(words.contains(key(1).id()), "{words}");
        assert!(
            words.contains("set TOKEN_ENCRYPTION_KEY_PREVIOUS"),
            "{words}"
        );
        assert!(!words.contains(&sealed[12..]), "{words}");
    }

    #[test]
    fn keys_are_32_bytes_of_base64_and_debug_shows_only_their_ids() {
        let text = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let k = TokenKey::from_base64(text).expect("32 bytes");
        let bytes: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(k.id(), TokenKey::from_bytes(&bytes).id());
        assert_eq!(
            TokenKey::from_base64(&format!(" {}\n", text.trim_end_matches('='))).map(|k| k.id),
            Ok(k.id.clone()),
            "padding and surrounding whitespace do not matter"
        );
        for bad in [
            "",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==",
            "not base64 at all!",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        ] {
            assert_eq!(
                TokenKey::from_base64(bad).map(|_| ()),
                Err(KeyError::NotAKey),
                "{bad}"
            );
        }
        let keys = TokenKeys::new(k.clone(), Some(key(9)));
        let debug = format!("{keys:?} {k:?}");
        assert_eq!(
            debug,
            format!(
                "TokenKeys {{ current: {:?}, previous: Some({:?}) }} TokenKey({:?})",
                k.id(),
                key(9).id(),
                k.id()
            )
        );
    }
}
