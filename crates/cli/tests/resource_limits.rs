//! Resource limits of the `s3seal` binary (issue #18, item 3), each run under an address-space
//! limit (`ulimit -v`) well below what the hostile field claims, so an allocation sized from
//! it fails the test (an abort) instead of passing unnoticed on an overcommitting kernel:
//! * `--part-size 5GiB` on a 1-byte input from standard input (multipart, length unknown):
//!   the part buffer grows with the bytes read (64 KiB first), not 5 GiB per worker;
//! * a sealed file whose envelope length field claims 4 GiB, or 256 KiB (the largest accepted)
//!   with nothing after it: a clear error after at most 256 KiB.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on failure"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_s3seal");
/// 3 GiB of address space (KiB): the CLI needs far less; one 5 GiB buffer does not fit.
const LIMIT_KIB: u64 = 3 << 20;

fn bounded(home: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB}; exec \"$@\""))
        .arg("sh")
        .arg(BIN)
        .arg("--home")
        .arg(home)
        .arg("--quiet")
        .args(args)
        .env_remove("S3SEAL_HOME")
        .env_remove("S3SEAL_ROOT_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut i = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let w = std::thread::spawn(move || {
        let _ = i.write_all(&data);
    });
    let o = child.wait_with_output().unwrap();
    w.join().unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        !e.contains("panicked") && !e.contains("memory allocation"),
        "{args:?}: {e}"
    );
    assert!(o.status.code().is_some(), "{args:?} killed: {e}");
    o
}

fn home(dir: &Path) -> PathBuf {
    let h = dir.join("home");
    let o = Command::new(BIN)
        .arg("--home")
        .arg(&h)
        .args(["bucket", "create", "bkt"])
        .env_remove("S3SEAL_HOME")
        .env_remove("S3SEAL_ROOT_KEY")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    h
}

#[test]
fn a_5_gib_part_size_on_a_1_byte_input_allocates_for_the_byte() {
    let t = tempfile::tempdir().unwrap();
    let h = home(t.path());
    for threads in ["1", "2"] {
        let o = bounded(
            &h,
            &[
                "put",
                "bkt/one",
                "-",
                "--part-size",
                "5GiB",
                "--threads",
                threads,
            ],
            b"x",
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = bounded(&h, &["get", "bkt/one"], b"");
        assert_eq!(o.stdout, b"x");
    }
    // From a 1-byte file the input's length is known: a single PUT.
    let f = t.path().join("one");
    std::fs::write(&f, b"y").unwrap();
    let o = bounded(
        &h,
        &["put", "bkt/one", f.to_str().unwrap(), "--part-size", "5GiB"],
        b"",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn sealed_file_envelope_lengths_are_bounded_before_reading() {
    let t = tempfile::tempdir().unwrap();
    let h = home(t.path());
    for (claimed, want) in [
        (u32::MAX, "envelope too large"),
        (256 * 1024 + 1, "envelope too large"),
        (256 * 1024, "truncated (envelope)"),
    ] {
        let mut file = b"S3SF\x01\0\0\0".to_vec();
        file.extend_from_slice(&claimed.to_be_bytes());
        let p = t.path().join("hostile.s3sf");
        std::fs::write(&p, &file).unwrap();
        let o = bounded(&h, &["decrypt", "-i", p.to_str().unwrap()], b"");
        assert_eq!(o.status.code(), Some(1));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.starts_with("error: ") && e.contains(want),
            "{claimed}: {e}"
        );
        // From standard input too.
        let o = bounded(&h, &["decrypt"], &file);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(want), "{claimed} (stdin): {e}");
    }
}
