//! The `Range` header (GetObject) and `x-amz-copy-source-range` (UploadPartCopy).

use std::ops::Range;

use s3seal_gateway::fuzzing::copy_source_range;

use crate::take;

/// A strictly RFC 9110 §14.1.2 single byte range, `bytes=first-[last]` or `bytes=-suffix`
/// (digits only, no spaces), resolved against a representation of `len` bytes: `Some(None)`
/// unsatisfiable, `None` not of that form.
fn strict_range(value: &str, len: u64) -> Option<Option<Range<u64>>> {
    let spec = value.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    // Digits of any length: a number past u64 is past any object.
    let num = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
    match (a.is_empty(), b.is_empty()) {
        (true, false) if digits(b) => {
            let n = num(b);
            Some((n > 0 && len > 0).then(|| len - n.min(len)..len))
        }
        (false, true) if digits(a) => {
            let first = num(a);
            Some((first < len).then_some(first..len))
        }
        (false, false) if digits(a) && digits(b) => {
            let (first, last) = (num(a), num(b));
            if last < first {
                // Invalid (RFC 9110: last-pos < first-pos), not merely unsatisfiable.
                return None;
            }
            Some((first < len).then(|| first..last.saturating_add(1).min(len)))
        }
        _ => None,
    }
}

/// `s3seal::parse_range` (GetObject's `Range`) and the gateway's `x-amz-copy-source-range`
/// parser over any value and object length. Input: `(len: u64, value: &str)`; a length with the
/// top bit set is reduced to 16 bits, so small objects are common.
///
/// * `Range`: accepted ⇒ a non-empty range inside the object; a value that is a strict RFC 9110
///   single range ⇒ accepted with exactly RFC's range when satisfiable, refused when not.
/// * copy range: accepted ⇒ `first ≤ last < len`, as the value says (S3: both ends
///   required); refused ⇒ 400 or 416; a strict satisfiable `bytes=first-last` is accepted.
pub fn range_header(data: &[u8]) {
    let Some((len, value)) = take::<(u64, &str)>(data) else {
        return;
    };
    let len = if len >> 63 == 1 { len & 0xffff } else { len };
    let got = s3seal::parse_range(value, len);
    if let Ok(r) = &got {
        assert!(r.start < r.end && r.end <= len, "{value:?} of {len}: {r:?}");
    }
    match strict_range(value, len) {
        Some(Some(want)) => assert_eq!(got.ok(), Some(want), "{value:?} of {len}"),
        Some(None) => assert!(
            got.is_err(),
            "{value:?} of {len}: unsatisfiable, got {got:?}"
        ),
        None => {}
    }

    let copy = copy_source_range(value, len);
    match &copy {
        Ok(r) => assert!(r.start < r.end && r.end <= len, "{value:?} of {len}: {r:?}"),
        Err(e) => {
            let status = e.status_code().map(|s| s.as_u16());
            assert!(matches!(status, Some(400 | 416)), "{value:?}: {e:?}");
        }
    }
    let strict_both = value
        .strip_prefix("bytes=")
        .and_then(|s| s.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
        .filter(|_| {
            value
                .bytes()
                .skip(6)
                .all(|c| c.is_ascii_digit() || c == b'-')
        });
    if let Some((first, last)) = strict_both
        && first <= last
        && last < len
    {
        assert_eq!(copy.ok(), Some(first..last + 1), "{value:?} of {len}");
    }
}
