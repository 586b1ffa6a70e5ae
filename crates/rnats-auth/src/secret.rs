//! Passwords and tokens (nats-server `auth.go comparePasswords`, `isBcrypt`).
//!
//! A configured secret that looks like a bcrypt hash (`$2a$`, `$2b$`, `$2x$`, `$2y$` followed by a
//! two-digit cost) is checked with bcrypt; anything else is compared in constant time, so the
//! comparison time does not reveal how many leading bytes were right. bcrypt is deliberately slow
//! (tens of milliseconds): callers in an async server must run [`verify`] off the reactor when
//! [`is_bcrypt`] is true.

/// Whether a configured secret is a bcrypt hash (`^\$2[abxy]\$\d{2}\$.*`).
pub fn is_bcrypt(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 7
        && b[0] == b'$'
        && b[1] == b'2'
        && matches!(b[2], b'a' | b'b' | b'x' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
}

/// Constant-time equality (the time depends only on the lengths).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Check what a client presented against the configured secret.
pub fn verify(configured: &str, presented: &str) -> bool {
    if is_bcrypt(configured) {
        // The reference uses CompareHashAndPassword: the client sends the plaintext.
        // bcrypt only looks at the first 72 bytes; longer inputs are rejected by the crate.
        bcrypt::verify(presented, configured).unwrap_or(false)
    } else {
        constant_time_eq(configured.as_bytes(), presented.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_detection() {
        assert!(is_bcrypt("$2a$11$abcdefghijklmnopqrstuv"));
        assert!(is_bcrypt("$2y$04$x"));
        assert!(!is_bcrypt("$2c$11$x"));
        assert!(!is_bcrypt("$2a$1$x"));
        assert!(!is_bcrypt("password"));
        assert!(!is_bcrypt(""));
    }

    #[test]
    fn verify_plain_and_bcrypt() {
        assert!(verify("s3cr3t", "s3cr3t"));
        assert!(!verify("s3cr3t", "s3cr3"));
        assert!(!verify("s3cr3t", "s3cr3tt"));
        assert!(verify("", ""));
        let hash = bcrypt::hash("pw", 4).expect("hash");
        assert!(verify(&hash, "pw"));
        assert!(!verify(&hash, "nope"));
        // Sending the hash itself does not work.
        assert!(!verify(&hash, &hash));
    }
}
