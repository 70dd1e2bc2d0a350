//! The `s3seal` binary against the testkit's sealed files (`testkit/`, see its README): every
//! `sealed-file` case of `testkit/MANIFEST` is decrypted by `s3seal decrypt`, which must give
//! the pattern plaintext, or fail with exactly the error line the case names and create no
//! output. SSE-C cases marked `home = fresh` are decrypted in a new, empty home.
#![expect(clippy::unwrap_used, reason = "tests panic on setup failures")]

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_s3seal");

fn testkit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testkit")
}

/// The testkit's plaintext: byte `i` is `i mod 251`.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

/// A copy of `testkit/home` (decrypting may write the keystore's lock and generation record),
/// its root secret and keystore file 0600 as the keystore demands.
fn copy_home(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["root.key", "keystore.json"] {
            std::fs::set_permissions(dst.join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

#[test]
fn the_binary_decrypts_every_testkit_sealed_file() {
    let dir = testkit();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST")).unwrap();
    let mut checked = 0;
    let mut errors = Vec::new();
    for block in manifest.split("\n\n") {
        let field = |k: &str| {
            block
                .lines()
                .filter_map(|l| l.split_once(" = "))
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v)
        };
        if field("kind") != Some("sealed-file") {
            continue;
        }
        let name = field("name").unwrap();
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        if field("home") != Some("fresh") {
            copy_home(&dir.join("home"), &home);
        }
        let out = t.path().join("out");
        let mut cmd = Command::new(BIN);
        cmd.arg("--home")
            .arg(&home)
            .arg("--quiet")
            .env_remove("S3SEAL_HOME")
            .env_remove("S3SEAL_ROOT_KEY")
            .arg("decrypt")
            .arg("-i")
            .arg(dir.join(field("file").unwrap()))
            .arg("-o")
            .arg(&out);
        if let Some(k) = field("sse_c_key") {
            cmd.arg("--sse-c-key-file").arg(dir.join(k));
        }
        let o = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).trim().to_owned();
        match field("expect") {
            None => {
                let len: usize = field("plaintext_len").unwrap().parse().unwrap();
                if !o.status.success() {
                    errors.push(format!("{name}: failed: {stderr}"));
                } else if std::fs::read(&out).unwrap() != pattern(len) {
                    errors.push(format!("{name}: plaintext differs"));
                }
            }
            Some(e) => {
                if o.status.success() || stderr != e {
                    errors.push(format!("{name}: expected {e:?}, got {stderr:?}"));
                }
                if out.exists() {
                    errors.push(format!("{name}: output created although it failed"));
                }
            }
        }
        checked += 1;
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(checked >= 18, "only {checked} sealed-file cases");
}
