//! The nkey challenge (nats-server `auth.go`, `nkey.go`): the server puts a fresh nonce in INFO,
//! the client signs the nonce's ASCII bytes with its ed25519 key and sends the signature in
//! CONNECT `sig` together with its public key in `nkey`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Why a signature check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigError {
    #[error("Signature missing")]
    Missing,
    #[error("Signature not valid base64")]
    NotBase64,
    #[error("User nkey not valid")]
    BadKey,
    #[error("Signature not verified")]
    NotVerified,
}

/// Decode `sig` as the reference does: base64url without padding first, else standard base64
/// with padding.
pub fn decode_sig(sig: &str) -> Result<Vec<u8>, SigError> {
    URL_SAFE_NO_PAD
        .decode(sig)
        .or_else(|_| STANDARD.decode(sig))
        .map_err(|_| SigError::NotBase64)
}

/// Whether `key` is a valid public user nkey (`U…`, 56 chars, checksum ok).
pub fn is_valid_user_key(key: &str) -> bool {
    key.starts_with('U') && nkeys::KeyPair::from_public_key(key).is_ok()
}

/// Verify that `sig` is `key`'s signature over the nonce string.
pub fn verify_nonce(key: &str, nonce: &str, sig: Option<&str>) -> Result<(), SigError> {
    let sig = sig.filter(|s| !s.is_empty()).ok_or(SigError::Missing)?;
    let raw = decode_sig(sig)?;
    let kp = nkeys::KeyPair::from_public_key(key).map_err(|_| SigError::BadKey)?;
    kp.verify(nonce.as_bytes(), &raw)
        .map_err(|_| SigError::NotVerified)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The spec's test vector: user key from seed bytes 00..1f, nonce `abcdefghijklmno`.
    const USER: &str = "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK";
    const SEED: &str = "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y";
    const SIG: &str =
        "BFqgAdhpmdT7AcI_hxTszAUiqdm5bBqbwMALxRCGOBYMSx9jTHq7RISqFue3wTE53jdrCFSiYMMcaXDUnZp1Bg";

    #[test]
    fn reference_vector() {
        let kp = nkeys::KeyPair::from_seed(SEED).expect("seed");
        assert_eq!(kp.public_key(), USER);
        assert_eq!(verify_nonce(USER, "abcdefghijklmno", Some(SIG)), Ok(()));
        assert_eq!(
            verify_nonce(USER, "abcdefghijklmnp", Some(SIG)),
            Err(SigError::NotVerified)
        );
    }

    #[test]
    fn encodings() {
        let raw = URL_SAFE_NO_PAD.decode(SIG).expect("raw");
        let std_padded = STANDARD.encode(&raw);
        assert_eq!(
            verify_nonce(USER, "abcdefghijklmno", Some(&std_padded)),
            Ok(())
        );
        assert_eq!(
            verify_nonce(USER, "abcdefghijklmno", None),
            Err(SigError::Missing)
        );
        assert_eq!(
            verify_nonce(USER, "abcdefghijklmno", Some("!!!")),
            Err(SigError::NotBase64)
        );
        assert!(is_valid_user_key(USER));
        assert!(!is_valid_user_key(
            "AAU2ZOXBIG6MV4FSFYNJJU2NBPDTMHSSNUF74EWIS6KLZEZCSZW5OICT"
        ));
        assert!(!is_valid_user_key("Unot-a-key"));
    }
}
