//! Encoders for server-to-client messages. They append to a caller-owned buffer so the hot path
//! (one `MSG` line per delivery) allocates nothing.

/// Append the decimal form of `n`.
pub fn push_usize(out: &mut Vec<u8>, mut n: usize) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

/// Append `MSG <subject> <sid> [reply] <size>\r\n<payload>\r\n`, or the `HMSG` form when
/// `header_len` is given (then `data` holds the header block followed by the payload).
pub fn push_msg(
    out: &mut Vec<u8>,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: Option<usize>,
    data: &[u8],
) {
    out.reserve(subject.len() + sid.len() + reply.map_or(0, |r| r.len()) + data.len() + 32);
    match header_len {
        Some(_) => out.extend_from_slice(b"HMSG "),
        None => out.extend_from_slice(b"MSG "),
    }
    out.extend_from_slice(subject);
    out.push(b' ');
    out.extend_from_slice(sid);
    out.push(b' ');
    if let Some(r) = reply {
        out.extend_from_slice(r);
        out.push(b' ');
    }
    if let Some(h) = header_len {
        push_usize(out, h);
        out.push(b' ');
    }
    push_usize(out, data.len());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The no-responders status message a requester receives (header block only).
pub fn push_no_responders(out: &mut Vec<u8>, reply: &[u8], sid: &[u8], subject: &[u8]) {
    let mut hdr = Vec::with_capacity(32 + subject.len());
    hdr.extend_from_slice(b"NATS/1.0 503\r\nNats-Subject: ");
    hdr.extend_from_slice(subject);
    hdr.extend_from_slice(b"\r\n\r\n");
    push_msg(out, reply, sid, None, Some(hdr.len()), &hdr);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_forms() {
        let mut v = Vec::new();
        push_msg(&mut v, b"foo", b"1", None, None, b"hi");
        push_msg(&mut v, b"foo", b"22", Some(b"r"), None, b"");
        push_msg(&mut v, b"h", b"3", None, Some(12), b"NATS/1.0\r\n\r\nhi");
        assert_eq!(
            v,
            b"MSG foo 1 2\r\nhi\r\nMSG foo 22 r 0\r\n\r\nHMSG h 3 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
        );
    }

    #[test]
    fn no_responders_matches_reference_bytes() {
        let mut v = Vec::new();
        push_no_responders(&mut v, b"inbox.1", b"7", b"nobody");
        assert_eq!(
            v,
            b"HMSG inbox.1 7 38 38\r\nNATS/1.0 503\r\nNats-Subject: nobody\r\n\r\n\r\n"
        );
    }

    #[test]
    fn numbers() {
        for n in [0usize, 7, 10, 999_999_999, usize::MAX] {
            let mut v = Vec::new();
            push_usize(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
    }
}
