//! ListObjectsV2 paging over a sorted key list: prefix, delimiter (common prefixes),
//! start-after / continuation token, max-keys, and S3's `encoding-type=url`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Failed, invalid_argument};

/// One page of a listing.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Page {
    /// Keys on the page, in order.
    pub(crate) keys: Vec<String>,
    /// Common prefixes on the page, in order.
    pub(crate) prefixes: Vec<String>,
    /// Whether more entries follow.
    pub(crate) truncated: bool,
    /// The last entry on a truncated page: the next page starts after it.
    pub(crate) next: Option<String>,
}

impl Page {
    /// The page of `keys` (sorted, all starting with `prefix`) after `after`, at most `max`
    /// entries (keys and common prefixes together).
    pub(crate) fn new(
        keys: &[String],
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max: i32,
    ) -> Page {
        let max = usize::try_from(max).unwrap_or(0);
        let mut page = Page::default();
        let mut count = 0usize;
        let mut last: Option<String> = None;
        for key in keys {
            let Some(rest) = key.strip_prefix(prefix) else {
                continue;
            };
            if after.is_some_and(|a| key.as_str() <= a) {
                continue;
            }
            let common = delimiter
                .filter(|d| !d.is_empty())
                .and_then(|d| rest.find(d).map(|i| format!("{prefix}{}{d}", &rest[..i])));
            let entry = match &common {
                // Keys under a common prefix already listed (or the one the token ends at).
                Some(cp) if last.as_deref() == Some(cp.as_str()) => continue,
                Some(cp) if after.is_some_and(|a| a.starts_with(cp.as_str())) => continue,
                Some(cp) => cp.clone(),
                None => key.clone(),
            };
            if count == max {
                page.truncated = true;
                page.next.clone_from(&last);
                break;
            }
            count += 1;
            match common {
                Some(cp) => page.prefixes.push(cp),
                None => page.keys.push(key.clone()),
            }
            last = Some(entry);
        }
        page
    }
}

/// max-keys: 0 to 1000 (more is capped at 1000, as S3 does); 1000 by default.
pub(crate) fn max_keys(v: Option<i32>) -> Result<i32, Failed> {
    match v {
        None => Ok(1000),
        Some(n) if n < 0 => Err(Failed(invalid_argument("max-keys must be non-negative"))),
        Some(n) => Ok(n.min(1000)),
    }
}

/// A continuation token: the last entry of the previous page, opaque to the client.
pub(crate) fn encode_token(last: &str) -> String {
    URL_SAFE_NO_PAD.encode(last.as_bytes())
}

/// The entry a continuation token names; `None` for a token this gateway did not make.
pub(crate) fn decode_token(token: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()
}

/// S3's `encoding-type=url`: every byte but unreserved characters and `/` percent-encoded.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn pages_with_delimiter_and_tokens_cover_every_entry_once() {
        let all = keys(&["a/1", "a/2", "b", "c/x/1", "c/y", "d"]);
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let p = Page::new(&all, "", Some("/"), after.as_deref(), 2);
            seen.extend(p.keys.clone());
            seen.extend(p.prefixes.clone());
            if !p.truncated {
                break;
            }
            after = p.next.clone();
        }
        seen.sort();
        assert_eq!(seen, keys(&["a/", "b", "c/", "d"]));
        let p = Page::new(&all, "c/", Some("/"), None, 1000);
        assert_eq!(p.prefixes, keys(&["c/x/"]));
        assert_eq!(p.keys, keys(&["c/y"]));
        let p = Page::new(&all, "", None, Some("b"), 1000);
        assert_eq!(p.keys, keys(&["c/x/1", "c/y", "d"]));
        let p = Page::new(&all, "", None, None, 0);
        assert!(p.keys.is_empty() && p.truncated);
    }

    #[test]
    fn tokens_and_url_encoding() {
        assert_eq!(
            decode_token(&encode_token("é/x y")).as_deref(),
            Some("é/x y")
        );
        assert_eq!(decode_token("!!"), None);
        assert_eq!(url_encode("a b/é+"), "a%20b/%C3%A9%2B");
    }
}
