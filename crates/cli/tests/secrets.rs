//! Secrets at the CLI (issue #18, item 7): after every kind of write (SSE-S3, SSE-KMS with and
//! without a bucket key, DSSE-KMS, SSE-C; single and multipart; copies; sealed files) and the
//! reads and inspections of them, no file under the home, no sealed file and nothing the
//! command printed (stdout, stderr) holds a raw data key, a customer key or the root secret —
//! raw, hex (either case) or base64. The data keys are recovered the way an attacker with the
//! keystore would: each stored envelope's wrapped key unwrapped by the home's `LocalKms`.
//! Also: the secret-bearing files are created 0600, and a key file readable by others is
//! refused with a message that says `chmod 600`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on failure"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use s3seal::kms::{EncryptionContext, Kms, LocalKms};
use s3seal::policy::{CustomerKey, ObjectIdentity, derive_object_key};
use s3seal::{Mode, ObjectEnvelope};
use s3seal_dsse::LayerRecord;

const BIN: &str = env!("CARGO_BIN_EXE_s3seal");

struct Env {
    dir: tempfile::TempDir,
    printed: Vec<u8>,
}

impl Env {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    fn run(&mut self, args: &[&str]) -> Output {
        let o = Command::new(BIN)
            .arg("--home")
            .arg(self.home())
            .arg("--quiet")
            .args(args)
            .env_remove("S3SEAL_HOME")
            .env_remove("S3SEAL_ROOT_KEY")
            .output()
            .unwrap();
        self.printed.extend_from_slice(&o.stdout);
        self.printed.extend_from_slice(&o.stderr);
        o
    }

    #[track_caller]
    fn ok(&mut self, args: &[&str]) -> Output {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Raw bytes and every printable form: hex (both cases), base64 (standard, URL-safe, padded or
/// not).
fn forms(secret: &[u8]) -> Vec<Vec<u8>> {
    vec![
        secret.to_vec(),
        hex::encode(secret).into_bytes(),
        hex::encode_upper(secret).into_bytes(),
        STANDARD.encode(secret).into_bytes(),
        STANDARD_NO_PAD.encode(secret).into_bytes(),
        URL_SAFE.encode(secret).into_bytes(),
        URL_SAFE_NO_PAD.encode(secret).into_bytes(),
    ]
}

/// Which of `needles` occur in `haystack`: one pass per needle length, each window looked up
/// in a set (the naive search is minutes over tens of MiB).
fn found<'a>(haystack: &[u8], needles: &'a [(String, Vec<u8>)]) -> Vec<&'a str> {
    let mut by_len: std::collections::HashMap<usize, std::collections::HashMap<&[u8], &str>> =
        std::collections::HashMap::new();
    for (name, n) in needles {
        by_len.entry(n.len()).or_default().insert(n, name);
    }
    let mut hits = Vec::new();
    for (len, set) in &by_len {
        for w in haystack.windows(*len) {
            if let Some(name) = set.get(w) {
                hits.push(*name);
            }
        }
    }
    hits
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The data keys an envelope's key material and manifest key wrap (SSE-S3 / SSE-KMS: the data
/// key or bucket key; DSSE-KMS: both layers' keys; SSE-C multipart: the manifest key), and for
/// SSE-C the object key derived from each candidate customer key.
fn unwrapped_keys(kms: &LocalKms, envelope: &[u8], customer: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let env = ObjectEnvelope::from_bytes(envelope).unwrap();
    let mut keys = Vec::new();
    if env.mode == Mode::SseC {
        let version = hex::encode(env.object_id);
        for c in customer {
            let id = ObjectIdentity {
                bucket: &env.bucket,
                key: &env.key,
                version: &version,
            };
            let k = derive_object_key(&CustomerKey::from_bytes(*c), &env.salt, &id);
            keys.push(*k.as_bytes());
        }
    }
    // The server-managed keys' context: the object ARN and the object id.
    let mut server = EncryptionContext::for_object(&env.bucket, &env.key);
    server.insert("s3seal:object-id", hex::encode(env.object_id));
    let mut blobs = Vec::new();
    match LayerRecord::from_bytes(&env.key_material) {
        Ok(rec) => blobs.extend([rec.inner.wrapped, rec.outer.wrapped]),
        Err(_) => blobs.push(env.key_material.clone()),
    }
    if !env.manifest_key.is_empty() {
        blobs.push(env.manifest_key.clone());
    }
    for b in blobs {
        for ctx in [env.context.clone(), server.clone()] {
            if let Ok(k) = kms.decrypt(&b, &ctx, None) {
                keys.push(*k.plaintext.as_bytes());
                break;
            }
        }
    }
    keys
}

#[test]
fn no_file_and_no_output_holds_a_data_key_customer_key_or_root_secret() {
    let mut env = Env {
        dir: tempfile::tempdir().unwrap(),
        printed: Vec::new(),
    };
    let small: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let big: Vec<u8> = (0..(6u32 << 20)).map(|i| (i % 241) as u8).collect();
    std::fs::write(env.path("small"), &small).unwrap();
    std::fs::write(env.path("big"), &big).unwrap();
    let ck1 = [0x3c_u8; 32];
    let mut ck2 = [0u8; 32];
    for (i, b) in ck2.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap().wrapping_mul(37).wrapping_add(11);
    }
    std::fs::write(env.path("c1.key"), ck1).unwrap();
    std::fs::write(env.path("c2.key"), ck2).unwrap();
    let (small_p, big_p) = (env.path("small"), env.path("big"));
    let (c1, c2) = (env.path("c1.key"), env.path("c2.key"));
    let (small_s, big_s, c1s, c2s) = (s(&small_p), s(&big_p), s(&c1), s(&c2));

    env.ok(&["keys", "create", "--alias", "demo", "--description", "d"]);
    env.ok(&["keys", "list"]);
    env.ok(&["bucket", "create", "bkt"]);
    let objects: [(&str, Vec<&str>); 8] = [
        ("s3", vec![small_s, "--sse", "AES256"]),
        (
            "kms",
            vec![
                small_s,
                "--sse",
                "aws:kms",
                "--kms-key",
                "alias/demo",
                "--context",
                r#"{"team":"a"}"#,
            ],
        ),
        ("kmsbk", vec![small_s, "--sse", "aws:kms", "--bucket-key"]),
        (
            "dsse",
            vec![small_s, "--sse", "aws:kms:dsse", "--kms-key", "alias/demo"],
        ),
        ("ssec", vec![small_s, "--sse-c-key-file", c1s]),
        (
            "mp",
            vec![
                big_s,
                "--part-size",
                "5MiB",
                "--sse",
                "aws:kms",
                "--kms-key",
                "alias/demo",
            ],
        ),
        (
            "mpdsse",
            vec![big_s, "--part-size", "5MiB", "--sse", "aws:kms:dsse"],
        ),
        (
            "mpc",
            vec![big_s, "--part-size", "5MiB", "--sse-c-key-file", c2s],
        ),
    ];
    for (name, flags) in &objects {
        let target = format!("bkt/{name}");
        let mut args = vec!["put", target.as_str()];
        args.extend(flags);
        env.ok(&args);
        let ssec = match *name {
            "ssec" => Some(c1s),
            "mpc" => Some(c2s),
            _ => None,
        };
        for cmd in ["get", "head"] {
            let mut a = vec![cmd, target.as_str()];
            if let Some(k) = ssec {
                a.extend(["--sse-c-key-file", k]);
            }
            env.ok(&a);
        }
        env.ok(&["inspect", &target]);
        env.ok(&["inspect", &target, "--json"]);
    }
    env.ok(&[
        "copy",
        "bkt/ssec",
        "bkt/copy1",
        "--copy-source-sse-c-key-file",
        c1s,
    ]);
    env.ok(&["copy", "bkt/kms", "bkt/copy2", "--sse-c-key-file", c2s]);
    env.ok(&[
        "copy",
        "bkt/mpc",
        "bkt/copy3",
        "--copy-source-sse-c-key-file",
        c2s,
        "--sse",
        "aws:kms:dsse",
    ]);
    // Failures print too: a wrong customer key, a missing one.
    assert!(
        !env.run(&["get", "bkt/ssec", "--sse-c-key-file", c2s])
            .status
            .success()
    );
    assert!(!env.run(&["get", "bkt/mpc"]).status.success());
    // Sealed files, SSE-S3 and SSE-C.
    let (sf1, sf2) = (env.path("f1.s3sf"), env.path("f2.s3sf"));
    env.ok(&["encrypt", "-i", small_s, "-o", s(&sf1)]);
    env.ok(&[
        "encrypt",
        "-i",
        small_s,
        "-o",
        s(&sf2),
        "--sse-c-key-file",
        c1s,
    ]);
    env.ok(&["decrypt", "-i", s(&sf1), "-o", s(&env.path("d1"))]);
    env.ok(&[
        "decrypt",
        "-i",
        s(&sf2),
        "-o",
        s(&env.path("d2")),
        "--sse-c-key-file",
        c1s,
    ]);
    env.ok(&["inspect", s(&sf1), "--json"]);

    // The secrets, as an attacker holding the keystore would recover them.
    let kms = LocalKms::open_dir(env.home()).unwrap();
    let store = s3seal_store::Store::open(&env.home()).unwrap();
    let mut data_keys: Vec<[u8; 32]> = Vec::new();
    for name in objects
        .iter()
        .map(|(n, _)| *n)
        .chain(["copy1", "copy2", "copy3"])
    {
        let (envelope, _) = store.read_object("bkt", name).unwrap();
        let keys = unwrapped_keys(&kms, &envelope, &[ck1, ck2]);
        assert!(!keys.is_empty(), "{name}: no key recovered");
        data_keys.extend(keys);
    }
    for sf in [&sf1, &sf2] {
        let bytes = std::fs::read(sf).unwrap();
        let n = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
        data_keys.extend(unwrapped_keys(&kms, &bytes[12..12 + n], &[ck1, ck2]));
    }
    assert!(
        data_keys.len() >= 18,
        "only {} data keys recovered",
        data_keys.len()
    );
    let root_hex = std::fs::read_to_string(env.home().join("root.key")).unwrap();
    let root = hex::decode(root_hex.trim()).unwrap();

    let mut files = Vec::new();
    files_under(&env.home(), &mut files);
    assert!(files.len() > 20, "{files:?}");
    files.extend([sf1.clone(), sf2.clone()]);
    let mut haystacks: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read(f).unwrap()))
        .collect();
    haystacks.push(("stdout and stderr".to_owned(), env.printed.clone()));
    let mut secrets: Vec<(String, Vec<u8>)> = data_keys
        .iter()
        .enumerate()
        .map(|(i, k)| (format!("data key {i}"), k.to_vec()))
        .collect();
    secrets.push(("customer key 1".into(), ck1.to_vec()));
    secrets.push(("customer key 2".into(), ck2.to_vec()));
    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, secret) in &secrets {
        needles.extend(forms(secret).into_iter().map(|f| (name.clone(), f)));
    }
    let root_needles: Vec<(String, Vec<u8>)> = forms(&root)
        .into_iter()
        .map(|f| ("the root secret".to_owned(), f))
        .collect();
    for (what, hay) in &haystacks {
        let hits = found(hay, &needles);
        assert!(hits.is_empty(), "{what} holds {hits:?}");
        if !what.ends_with("root.key") {
            let hits = found(hay, &root_needles);
            assert!(hits.is_empty(), "{what} holds {hits:?}");
        }
    }
    // The scan finds what it looks for: the root secret in root.key, a customer key file.
    let root_file = std::fs::read(env.home().join("root.key")).unwrap();
    assert!(!found(&root_file, &root_needles).is_empty());
    assert!(!found(&std::fs::read(&c1).unwrap(), &needles).is_empty());
}

#[cfg(unix)]
#[test]
fn secret_files_are_0600_and_refused_when_group_or_others_may_read_them() {
    use std::os::unix::fs::PermissionsExt;
    let mut env = Env {
        dir: tempfile::tempdir().unwrap(),
        printed: Vec::new(),
    };
    env.ok(&["keys", "create", "--alias", "demo", "--description", "d"]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for f in ["root.key", "keystore.json"] {
        assert_eq!(mode(&env.home().join(f)), 0o600, "{f}");
    }
    for (f, m) in [
        ("root.key", 0o640),
        ("root.key", 0o644),
        ("keystore.json", 0o640),
        ("keystore.json", 0o644),
    ] {
        let p = env.home().join(f);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(m)).unwrap();
        let o = env.run(&["keys", "list"]);
        assert!(!o.status.success(), "{f} {m:o} accepted");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.starts_with("error: ") && e.contains("chmod 600"),
            "{f} {m:o}: {e}"
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        env.ok(&["keys", "list"]);
    }
}
