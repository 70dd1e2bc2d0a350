//! An SSE-C sealed file needs nothing but its key: encrypted in one home, it decrypts in
//! another, fresh home (another keystore, another SSE-S3 root key) given only the key file —
//! and not without it, nor with another key.
#![expect(clippy::unwrap_used, reason = "tests panic on setup failures")]

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_s3seal");

fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--home")
        .arg(home)
        .arg("--quiet")
        .env_remove("S3SEAL_HOME")
        .env_remove("S3SEAL_ROOT_KEY")
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn sse_c_file_decrypts_in_a_fresh_home_with_only_the_key() {
    let t = tempfile::tempdir().unwrap();
    let (home_a, home_b) = (t.path().join("a"), t.path().join("b"));
    let key = t.path().join("key");
    std::fs::write(&key, [0x5au8; 32]).unwrap();
    let other = t.path().join("other");
    std::fs::write(&other, [0xa5u8; 32]).unwrap();
    let data: Vec<u8> = (0..200_000u32)
        .map(|i| u8::try_from(i * 7 % 253).unwrap())
        .collect();
    let plain = t.path().join("plain");
    std::fs::write(&plain, &data).unwrap();
    let sealed = t.path().join("sealed");
    let o = run(
        &home_a,
        &[
            "encrypt",
            "-i",
            s(&plain),
            "-o",
            s(&sealed),
            "--sse-c-key-file",
            s(&key),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Home A (its keystore, its root key) is gone; B has never seen the file or the key.
    std::fs::remove_dir_all(&home_a).unwrap();
    let out = t.path().join("out");
    let o = run(
        &home_b,
        &[
            "decrypt",
            "-i",
            s(&sealed),
            "-o",
            s(&out),
            "--sse-c-key-file",
            s(&key),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), data);

    let out2 = t.path().join("out2");
    let wrong = run(
        &home_b,
        &[
            "decrypt",
            "-i",
            s(&sealed),
            "-o",
            s(&out2),
            "--sse-c-key-file",
            s(&other),
        ],
    );
    assert!(!wrong.status.success());
    assert_eq!(
        String::from_utf8_lossy(&wrong.stderr).trim(),
        "error: AccessDenied: Access Denied"
    );
    let missing = run(&home_b, &["decrypt", "-i", s(&sealed), "-o", s(&out2)]);
    assert!(!missing.status.success());
    assert!(!out2.exists());
}
