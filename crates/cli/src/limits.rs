//! The bounds on sizes the CLI reads or allocates, with S3's limits:
//!
//! | what | bound | why |
//! |---|---|---|
//! | `--part-size` | 5 MiB ..= 5 GiB when the upload is multipart; never 0, never above 5 GiB | S3's part limits (only the last part may be smaller); one part is buffered in memory per worker |
//! | parts of an upload | at most 10,000 | S3's limit; refused before reading when the input's length is known |
//! | object key | at most 1,024 bytes of UTF-8 | S3's limit (`KeyTooLongError`) |
//! | bucket name | S3's naming rules | `s3seal_policy::check_bucket_name` (`InvalidBucketName`) |
//! | `bucket set-encryption --file` | 16 KiB (`MAX_CONFIG_XML_LEN`) | the policy's XML limit (`MaxMessageLengthExceeded`) |
//! | SSE-C key files | 1 KiB | a key is 32 bytes; anything longer is refused by the policy anyway |
//!
//! Small inputs are read with [`crate::fsio::read_at_most`], so `/dev/zero` or a huge file is
//! refused after reading one byte past the bound, whatever the file's reported size.

use std::path::Path;

use crate::error::{CliError, Result};

/// Smallest part but the last (S3: 5 MiB).
pub const MIN_PART_SIZE: u64 = 5 << 20;
/// Largest part (S3: 5 GiB); also bounds the part buffer the CLI allocates.
pub const MAX_PART_SIZE: u64 = 5 << 30;
/// Most parts of a multipart upload (S3: 10,000).
pub const MAX_PARTS: u64 = 10_000;
/// Largest SSE-C key file read (a key is 32 bytes).
pub const MAX_KEY_FILE: usize = 1024;

fn size(n: u64) -> String {
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{} GiB", n >> 30)
    } else if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

/// Checks `put --part-size` before anything is read or written. `input` is the input path
/// (`-` = standard input, whose length is unknown); the upload is multipart when the input is
/// longer than the part size, or of unknown length — as `objects::put` decides.
///
/// # Errors
/// A part size of 0 or above 5 GiB; below 5 MiB for a multipart upload (`EntityTooSmall`); more
/// than 10,000 parts for an input of known length.
pub fn check_part_size(part_size: Option<u64>, input: &Path) -> Result<()> {
    let Some(ps) = part_size else {
        return Ok(());
    };
    let bounds = format!(
        "S3 parts are {} to {} (only the last part may be smaller)",
        size(MIN_PART_SIZE),
        size(MAX_PART_SIZE)
    );
    if ps == 0 || ps > MAX_PART_SIZE {
        return Err(CliError::Usage(format!(
            "--part-size {ps} is out of range: {bounds}"
        )));
    }
    let len = if input.as_os_str() == "-" {
        None
    } else {
        // As `objects::put` sees it (a missing file is reported when it is opened).
        match std::fs::metadata(input) {
            Ok(m) => Some(m.len()),
            Err(_) => return Ok(()),
        }
    };
    let multipart = len.is_none_or(|l| l > ps);
    if multipart && ps < MIN_PART_SIZE {
        return Err(CliError::S3 {
            code: "EntityTooSmall",
            message: format!(
                "Your proposed upload is smaller than the minimum allowed object size. (--part-size {ps}: {bounds})"
            ),
        });
    }
    if let Some(l) = len {
        let parts = l.div_ceil(ps);
        if parts > MAX_PARTS {
            return Err(CliError::Usage(format!(
                "{} bytes in parts of {ps} bytes are {parts} parts; S3 allows {MAX_PARTS}: use --part-size {} or more",
                l,
                l.div_ceil(MAX_PARTS)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes() {
        let stdin = Path::new("-");
        assert!(check_part_size(None, stdin).is_ok());
        assert!(check_part_size(Some(MIN_PART_SIZE), stdin).is_ok());
        assert!(check_part_size(Some(MAX_PART_SIZE), stdin).is_ok());
        for bad in [0, MAX_PART_SIZE + 1, 1 << 40, u64::MAX] {
            let e = check_part_size(Some(bad), stdin).unwrap_err().to_string();
            assert!(e.contains("out of range"), "{e}");
        }
        let e = check_part_size(Some(1 << 20), stdin).unwrap_err();
        assert_eq!(e.code(), Some("EntityTooSmall"));
    }

    #[test]
    fn small_files_are_single_puts() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, [0u8; 100]).unwrap();
        // 100 bytes fit in one part: a single PUT, the part size does not matter.
        assert!(check_part_size(Some(1 << 20), &f).is_ok());
        assert!(check_part_size(Some(10), &f).is_err());
        assert!(check_part_size(Some(0), &f).is_err());
    }
}
