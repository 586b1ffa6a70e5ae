//! `.creds` files: a user JWT and its nkey seed in decorated blocks
//! (`-----BEGIN NATS USER JWT-----` … `------END NATS USER JWT------`, then the seed block).
//! The same "decorated" form may wrap an operator JWT in a file.

/// Why a creds text did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredsError {
    #[error("no JWT found")]
    NoJwt,
    #[error("no nkey seed found")]
    NoSeed,
}

/// The blocks of a decorated file, in order: the text between each `-----BEGIN …-----` line and
/// the next line starting with `--` (trimmed, non-empty).
fn blocks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if !(l.trim_start().starts_with("---") && l.contains("BEGIN")) {
            continue;
        }
        for body in lines.by_ref() {
            let b = body.trim();
            if b.starts_with("--") {
                break;
            }
            if !b.is_empty() {
                out.push(b);
                break;
            }
        }
    }
    out
}

/// The first JWT of a decorated text, or the text itself when it is a bare JWT.
pub fn jwt(text: &str) -> Result<&str, CredsError> {
    let t = text.trim();
    if !t.contains("BEGIN") {
        return if t.is_empty() {
            Err(CredsError::NoJwt)
        } else {
            Ok(t)
        };
    }
    blocks(text)
        .into_iter()
        .find(|b| b.starts_with("ey"))
        .ok_or(CredsError::NoJwt)
}

/// The JWT and the seed of a creds file.
pub fn parse(text: &str) -> Result<(&str, &str), CredsError> {
    let b = blocks(text);
    let jwt = b
        .iter()
        .find(|x| x.starts_with("ey"))
        .ok_or(CredsError::NoJwt)?;
    let seed = b
        .iter()
        .find(|x| x.starts_with('S'))
        .ok_or(CredsError::NoSeed)?;
    Ok((jwt, seed))
}

/// A creds file for `jwt` and `seed`, in the layout `nsc` writes.
pub fn format(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\nNKEY Seed printed below can be used to sign and prove identity.\nNKEYs are sensitive and should be treated as secrets.\n\n-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n*************************************************************\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bare() {
        let text = format("eyJhbGc.eyJzdWI.c2ln", "SUAAAA");
        assert_eq!(parse(&text), Ok(("eyJhbGc.eyJzdWI.c2ln", "SUAAAA")));
        assert_eq!(jwt(&text), Ok("eyJhbGc.eyJzdWI.c2ln"));
        assert_eq!(jwt("  eyJx.y.z\n"), Ok("eyJx.y.z"));
        assert_eq!(parse("nothing"), Err(CredsError::NoJwt));
    }
}
