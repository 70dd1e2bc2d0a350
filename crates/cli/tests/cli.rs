//! End-to-end tests of the `s3seal` binary: every subcommand, the S3 refusals, and that a failed
//! command leaves no output file behind. Each test has its own home.
#![expect(clippy::unwrap_used, reason = "tests panic on setup failures")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use std::io::Write;

const BIN: &str = env!("CARGO_BIN_EXE_s3seal");

struct Env {
    dir: tempfile::TempDir,
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u64)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(u64::from(seed))
                .to_le_bytes()[2]
        })
        .collect()
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--home")
            .arg(self.path("home"))
            .arg("--quiet")
            .env_remove("S3SEAL_HOME")
            .env_remove("S3SEAL_ROOT_KEY");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs a command that must fail; returns its one-line stderr.
    #[track_caller]
    fn err(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let e = String::from_utf8(o.stderr).unwrap();
        assert!(e.starts_with("error: "), "{e}");
        e
    }

    /// A home with a key aliased `demo` and a bucket `bkt`.
    fn with_bucket() -> Self {
        let env = Env::new();
        env.ok(&[
            "keys",
            "create",
            "--alias",
            "demo",
            "--description",
            "test key",
        ]);
        env.ok(&["bucket", "create", "bkt"]);
        env
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn keys_lifecycle() {
    let env = Env::new();
    let out = env.ok(&[
        "keys",
        "create",
        "--alias",
        "app",
        "--description",
        "app key",
    ]);
    let id = out.split('\t').next().unwrap().to_owned();
    assert!(out.contains(":key/"));
    assert!(
        env.path("home/root.key").exists(),
        "root secret created on first use"
    );
    let list = env.ok(&["keys", "list"]);
    assert!(
        list.contains(&id) && list.contains("alias/app") && list.contains("app key"),
        "{list}"
    );
    let d = env.ok(&["keys", "describe", "alias/app"]);
    assert!(
        d.contains("State:        Enabled") && d.contains("KeyVersion:   1"),
        "{d}"
    );
    assert!(env.ok(&["keys", "rotate", &id]).contains("version 2"));
    env.ok(&["keys", "create", "--alias", "other"]);
    env.ok(&["keys", "alias", "other", &id]);
    assert!(env.ok(&["keys", "describe", "alias/other"]).contains(&id));

    // A disabled key refuses writes with KMS's error; enabled again it works.
    env.ok(&["bucket", "create", "bkt"]);
    let f = env.write("in", b"hello");
    env.ok(&["keys", "disable", &id]);
    let e = env.err(&["put", "bkt/x", s(&f), "--sse", "aws:kms", "--kms-key", &id]);
    assert!(e.contains("KMS.DisabledException"), "{e}");
    env.ok(&["keys", "enable", &id]);
    env.ok(&["put", "bkt/x", s(&f), "--sse", "aws:kms", "--kms-key", &id]);

    assert!(
        env.err(&["keys", "describe", "alias/nope"])
            .contains("KMS.NotFoundException")
    );
    assert!(
        env.err(&["keys", "create", "--alias", "aws/reserved"])
            .contains("InvalidAlias")
    );
}

#[test]
fn bucket_encryption() {
    let env = Env::with_bucket();
    let e = env.err(&["bucket", "get-encryption", "bkt"]);
    assert_eq!(
        e.trim(),
        "error: ServerSideEncryptionConfigurationNotFoundError: The server side encryption configuration was not found"
    );
    assert!(
        env.err(&["bucket", "create", "bkt"])
            .contains("BucketAlreadyOwnedByYou")
    );
    assert!(
        env.err(&["bucket", "get-encryption", "nope"])
            .contains("NoSuchBucket")
    );
    assert!(
        env.err(&["bucket", "create", "Bad_Name"])
            .contains("InvalidBucketName")
    );

    env.ok(&[
        "bucket",
        "set-encryption",
        "bkt",
        "--sse",
        "aws:kms",
        "--kms-key",
        "alias/demo",
        "--bucket-key",
    ]);
    let xml = env.ok(&["bucket", "get-encryption", "bkt"]);
    assert!(
        xml.contains("<SSEAlgorithm>aws:kms</SSEAlgorithm>")
            && xml.contains("<BucketKeyEnabled>true</BucketKeyEnabled>"),
        "{xml}"
    );

    // The document round-trips through --file.
    let f = env.write("cfg.xml", xml.trim().as_bytes());
    env.ok(&["bucket", "create", "bkt2"]);
    env.ok(&["bucket", "set-encryption", "bkt2", "--file", s(&f)]);
    assert_eq!(env.ok(&["bucket", "get-encryption", "bkt2"]), xml);

    let bad = env.write("bad.xml", b"<ServerSideEncryptionConfiguration><Rule>");
    assert!(
        env.err(&["bucket", "set-encryption", "bkt", "--file", s(&bad)])
            .contains("MalformedXML")
    );
    assert!(
        env.err(&["bucket", "set-encryption", "bkt", "--sse", "AES512"])
            .contains("error: MalformedXML")
    );
    let e = env.err(&[
        "bucket",
        "set-encryption",
        "bkt",
        "--sse",
        "AES256",
        "--kms-key",
        "alias/demo",
    ]);
    assert!(
        e.contains("InvalidArgument") || e.contains("MalformedXML"),
        "{e}"
    );
    // The failed calls left the configuration alone.
    assert_eq!(env.ok(&["bucket", "get-encryption", "bkt"]), xml);

    // Directory buckets: no DSSE.
    env.ok(&["bucket", "create", "dirb", "--kind", "directory"]);
    let e = env.err(&["bucket", "set-encryption", "dirb", "--sse", "aws:kms:dsse"]);
    assert!(e.contains("error: "), "{e}");
}

#[test]
fn put_get_head_every_mode() {
    let env = Env::with_bucket();
    let data = pattern(300_000, 1);
    let f = env.write("in", &data);
    let key = env.write("c.key", &[9u8; 32]);
    let modes: [(&str, Vec<&str>, &str); 6] = [
        (
            "s3",
            vec!["--sse", "AES256"],
            "x-amz-server-side-encryption: AES256",
        ),
        ("default", vec![], "x-amz-server-side-encryption: AES256"),
        (
            "kms",
            vec![
                "--sse",
                "aws:kms",
                "--kms-key",
                "alias/demo",
                "--context",
                r#"{"team":"a"}"#,
            ],
            "x-amz-server-side-encryption: aws:kms",
        ),
        (
            "kmsbk",
            vec!["--sse", "aws:kms", "--bucket-key"],
            "x-amz-server-side-encryption-bucket-key-enabled: true",
        ),
        (
            "dsse",
            vec!["--sse", "aws:kms:dsse", "--kms-key", "alias/demo"],
            "x-amz-server-side-encryption: aws:kms:dsse",
        ),
        (
            "ssec",
            vec!["--sse-c-key-file", s(&key)],
            "x-amz-server-side-encryption-customer-algorithm: AES256",
        ),
    ];
    for (name, flags, expect) in &modes {
        let target = format!("bkt/{name}");
        let mut args = vec!["put", target.as_str(), s(&f)];
        args.extend(flags.iter().copied());
        let out = env.ok(&args);
        assert!(out.contains(expect), "{name}: {out}");
        let o = env.path(&format!("{name}.out"));
        let mut get = vec!["get", target.as_str(), "-o", s(&o)];
        let mut head = vec!["head", target.as_str()];
        if *name == "ssec" {
            get.extend(["--sse-c-key-file", s(&key)]);
            head.extend(["--sse-c-key-file", s(&key)]);
        }
        env.ok(&get);
        assert_eq!(std::fs::read(&o).unwrap(), data, "{name}");
        // To standard output too.
        get.truncate(2);
        if *name == "ssec" {
            get.extend(["--sse-c-key-file", s(&key)]);
        }
        let o = env.run(&get);
        assert!(o.status.success());
        assert_eq!(o.stdout, data, "{name} to stdout");
        let h = env.ok(&head);
        assert!(
            h.contains("content-length: 300000") && h.contains(expect),
            "{name}: {h}"
        );
    }
    // SSE-S3 single PUT: the ETag is the MD5 of the data, as S3.
    assert!(env.ok(&["head", "bkt/s3"]).contains("etag: \""));
    assert!(env.err(&["get", "bkt/missing"]).contains("NoSuchKey"));
    assert!(env.err(&["get", "nobucket/x"]).contains("NoSuchBucket"));
    assert!(env.err(&["get", "justabucket"]).contains("BUCKET/KEY"));
    // Keys with any characters, long ones too, are safe file names.
    let long = format!("bkt/{}", "dir/../é €\n".repeat(40));
    env.ok(&["put", &long, s(&f)]);
    let o = env.run(&["get", &long]);
    assert_eq!(o.stdout, data);
}

#[test]
fn put_from_stdin_and_multipart() {
    let env = Env::with_bucket();
    let data = pattern(11 << 20, 2);
    let f = env.write("in", &data);
    let out = env.ok(&[
        "put",
        "bkt/mp",
        s(&f),
        "--part-size",
        "5MiB",
        "--sse",
        "aws:kms",
        "--kms-key",
        "alias/demo",
        "--threads",
        "2",
    ]);
    assert!(out.contains("-3\""), "{out}");
    let o = env.path("mp.out");
    env.ok(&["get", "bkt/mp", "-o", s(&o)]);
    assert!(std::fs::read(&o).unwrap() == data);
    let i = env.ok(&["inspect", "bkt/mp", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&i).unwrap();
    assert_eq!(v["parts"].as_array().unwrap().len(), 3);
    assert_eq!(v["mode"], "SSE-KMS");
    // Nothing left in the scratch space (staged parts, unpublished data).
    let scratch = env.path("home/tmp");
    assert_eq!(std::fs::read_dir(scratch).unwrap().count(), 0);

    // Multipart SSE-C from standard input.
    let key = env.write("c.key", &[3u8; 32]);
    let o = env.run_stdin(
        &[
            "put",
            "bkt/mpc",
            "-",
            "--part-size",
            "5MiB",
            "--sse-c-key-file",
            s(&key),
        ],
        &data,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = env.run(&[
        "get",
        "bkt/mpc",
        "--sse-c-key-file",
        s(&key),
        "--range",
        "bytes=5242870-5242889",
    ]);
    assert!(o.status.success());
    assert_eq!(o.stdout, &data[5_242_870..5_242_890]);

    // A part size below S3's 5 MiB minimum: EntityTooSmall, nothing stored.
    let e = env.err(&["put", "bkt/small", s(&f), "--part-size", "1MiB"]);
    assert!(e.contains("EntityTooSmall"), "{e}");
    assert!(env.err(&["head", "bkt/small"]).contains("NoSuchKey"));

    // Single PUT from standard input.
    let o = env.run_stdin(&["put", "bkt/pipe", "-"], &data[..1000]);
    assert!(o.status.success());
    assert_eq!(env.run(&["get", "bkt/pipe"]).stdout, &data[..1000]);
}

#[test]
fn s3_refusals_store_nothing() {
    let env = Env::with_bucket();
    let f = env.write("in", b"some data");
    let e = env.err(&[
        "put",
        "bkt/x",
        s(&f),
        "--sse",
        "AES256",
        "--kms-key",
        "alias/demo",
    ]);
    assert_eq!(
        e.trim(),
        "error: InvalidArgument: Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms"
    );
    let e = env.err(&["put", "bkt/x", s(&f), "--sse", "AES512"]);
    assert_eq!(
        e.trim(),
        "error: InvalidArgument: The encryption method specified is not supported"
    );
    let short = env.write("short.key", &[1u8; 31]);
    let e = env.err(&["put", "bkt/x", s(&f), "--sse-c-key-file", s(&short)]);
    assert_eq!(
        e.trim(),
        "error: InvalidArgument: The secret key was invalid for the specified algorithm."
    );
    let key = env.write("c.key", &[1u8; 32]);
    let e = env.err(&[
        "put",
        "bkt/x",
        s(&f),
        "--sse",
        "aws:kms",
        "--sse-c-key-file",
        s(&key),
    ]);
    assert!(
        e.contains(
            "InvalidArgument: Server Side Encryption with Customer provided key is incompatible"
        ),
        "{e}"
    );
    let e = env.err(&[
        "put",
        "bkt/x",
        s(&f),
        "--sse",
        "aws:kms",
        "--kms-key",
        "alias/missing",
    ]);
    assert!(e.contains("KMS.NotFoundException"), "{e}");
    let e = env.err(&[
        "put",
        "bkt/x",
        s(&f),
        "--sse",
        "aws:kms",
        "--context",
        "not json",
    ]);
    assert!(e.contains("InvalidArgument"), "{e}");
    assert!(env.err(&["head", "bkt/x"]).contains("NoSuchKey"));
    // Only the bucket files: no object and no temporary files left.
    for dir in ["home/buckets/bkt/objects", "home/tmp"] {
        let left: Vec<_> = std::fs::read_dir(env.path(dir))
            .map(|d| d.collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{dir}: {left:?}");
    }
}

#[test]
fn sse_c_reads() {
    let env = Env::with_bucket();
    let data = pattern(100_000, 3);
    let f = env.write("in", &data);
    let key = env.write("c.key", &[5u8; 32]);
    let wrong = env.write("w.key", &[6u8; 32]);
    env.ok(&["put", "bkt/c", s(&f), "--sse-c-key-file", s(&key)]);
    let o = env.path("out");
    let e = env.err(&["get", "bkt/c", "-o", s(&o)]);
    assert_eq!(
        e.trim(),
        "error: InvalidRequest: The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
    );
    assert!(!o.exists());
    assert!(
        env.err(&["get", "bkt/c", "-o", s(&o), "--sse-c-key-file", s(&wrong)])
            .contains("AccessDenied")
    );
    assert!(!o.exists());
    assert!(env.err(&["head", "bkt/c"]).contains("InvalidRequest"));
    assert!(
        env.err(&["head", "bkt/c", "--sse-c-key-file", s(&wrong)])
            .contains("AccessDenied")
    );
    // SSE-C headers on a non-SSE-C object are refused too.
    env.ok(&["put", "bkt/plain", s(&f)]);
    assert!(
        env.err(&["get", "bkt/plain", "-o", s(&o), "--sse-c-key-file", s(&key)])
            .contains("InvalidRequest")
    );
    assert!(!o.exists());
}

#[test]
fn ranges() {
    let env = Env::with_bucket();
    let data = pattern(200_000, 4);
    let f = env.write("in", &data);
    env.ok(&["put", "bkt/r", s(&f), "--sse", "aws:kms:dsse"]);
    for (r, want) in [
        ("bytes=0-0", 0..1),
        ("bytes=65530-131080", 65_530..131_081),
        ("bytes=-10", 199_990..200_000),
        ("bytes=199999-", 199_999..200_000),
        ("bytes=100-999999", 100..200_000),
    ] {
        let o = env.run(&["get", "bkt/r", "--range", r]);
        assert!(o.status.success(), "{r}");
        assert_eq!(o.stdout, &data[want], "{r}");
    }
    let o = env.path("out");
    for r in [
        "bytes=200000-",
        "bytes=300000-300010",
        "bytes=5-1",
        "lines=1-2",
    ] {
        let e = env.err(&["get", "bkt/r", "--range", r, "-o", s(&o)]);
        assert_eq!(
            e.trim(),
            "error: InvalidRange: The requested range is not satisfiable",
            "{r}"
        );
        assert!(!o.exists());
    }
}

/// The one data file of object `key` in bucket `bkt` (`s3seal-store` layout: one directory per
/// key, its sealed bytes in `ID.data`).
fn data_file(env: &Env, key: &str) -> std::path::PathBuf {
    let dir = env.path("home/buckets/bkt/objects").join(hex::encode(key));
    let data: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    assert_eq!(data.len(), 1, "{data:?}");
    data[0].clone()
}

#[test]
fn tampered_and_truncated_objects() {
    let env = Env::with_bucket();
    let data = pattern(500_000, 5);
    let f = env.write("in", &data);
    env.ok(&["put", "bkt/t", s(&f), "--sse", "aws:kms"]);
    let sealed = data_file(&env, "t");
    let orig = std::fs::read(&sealed).unwrap();
    let o = env.path("out");
    let mut bytes = orig.clone();
    bytes[orig.len() / 2] ^= 0x80;
    std::fs::write(&sealed, &bytes).unwrap();
    let e = env.err(&["get", "bkt/t", "-o", s(&o)]);
    // The S3 code and the engine's cause as before, now naming the object and its file.
    assert!(
        e.trim()
            .starts_with("error: InternalError: stored object bkt/t is corrupt (")
            && e.contains(s(&sealed))
            && e.trim().ends_with("): stored object failed authentication"),
        "{e}"
    );
    assert!(!o.exists());
    // A range over untouched chunks still reads; one over the flipped byte does not.
    assert_eq!(
        env.run(&["get", "bkt/t", "--range", "bytes=0-9"]).stdout,
        &data[..10]
    );
    assert!(
        env.err(&[
            "get",
            "bkt/t",
            "--range",
            "bytes=200000-300000",
            "-o",
            s(&o)
        ])
        .contains("InternalError")
    );
    assert!(!o.exists());
    // Truncated.
    std::fs::write(&sealed, &orig[..orig.len() - 100]).unwrap();
    assert!(
        env.err(&["get", "bkt/t", "-o", s(&o)])
            .contains("InternalError")
    );
    assert!(!o.exists());
    // An envelope moved to another key.
    std::fs::write(&sealed, &orig).unwrap();
    let dir = env.path("home/buckets/bkt/objects");
    let (t, u) = (dir.join(hex::encode("t")), dir.join(hex::encode("u")));
    std::fs::create_dir(&u).unwrap();
    for f in [
        std::path::PathBuf::from("current"),
        sealed.file_name().unwrap().into(),
    ] {
        std::fs::copy(t.join(&f), u.join(&f)).unwrap();
    }
    assert!(
        env.err(&["get", "bkt/u", "-o", s(&o)])
            .contains("InternalError")
    );
    assert!(!o.exists());
    assert_eq!(env.run(&["get", "bkt/t"]).stdout, data);
}

#[test]
fn copy_across_modes() {
    let env = Env::with_bucket();
    env.ok(&["bucket", "create", "dst"]);
    env.ok(&["bucket", "set-encryption", "dst", "--sse", "aws:kms:dsse"]);
    let data = pattern(150_000, 6);
    let f = env.write("in", &data);
    let key = env.write("c.key", &[7u8; 32]);
    let key2 = env.write("d.key", &[8u8; 32]);
    env.ok(&["put", "bkt/src", s(&f), "--sse-c-key-file", s(&key)]);
    // The source's key is required, and the destination bucket's default applies.
    assert!(
        env.err(&["copy", "bkt/src", "dst/a"])
            .contains("InvalidRequest")
    );
    let out = env.ok(&[
        "copy",
        "bkt/src",
        "dst/a",
        "--copy-source-sse-c-key-file",
        s(&key),
    ]);
    assert!(
        out.contains("x-amz-server-side-encryption: aws:kms:dsse"),
        "{out}"
    );
    assert_eq!(env.run(&["get", "dst/a"]).stdout, data);
    // SSE-C to SSE-C under another key.
    env.ok(&[
        "copy",
        "bkt/src",
        "bkt/b",
        "--copy-source-sse-c-key-file",
        s(&key),
        "--sse-c-key-file",
        s(&key2),
    ]);
    assert_eq!(
        env.run(&["get", "bkt/b", "--sse-c-key-file", s(&key2)])
            .stdout,
        data
    );
    // KMS to SSE-S3.
    let out = env.ok(&["copy", "dst/a", "bkt/c", "--sse", "AES256"]);
    assert!(out.contains("AES256"));
    assert_eq!(env.run(&["get", "bkt/c"]).stdout, data);
    assert!(
        env.err(&[
            "copy",
            "bkt/src",
            "bkt/d",
            "--copy-source-sse-c-key-file",
            s(&key2)
        ])
        .contains("AccessDenied")
    );
    assert!(env.err(&["head", "bkt/d"]).contains("NoSuchKey"));
}

#[test]
fn rewrap_in_place() {
    let env = Env::with_bucket();
    let second = env.ok(&["keys", "create", "--alias", "second"]);
    let arn2 = second.trim().split('\t').nth(1).unwrap().to_owned();
    let data = pattern(100_000, 7);
    let f = env.write("in", &data);
    env.ok(&[
        "put",
        "bkt/k",
        s(&f),
        "--sse",
        "aws:kms",
        "--kms-key",
        "alias/demo",
    ]);
    env.ok(&["put", "bkt/s3", s(&f), "--sse", "AES256"]);
    let sealed = data_file(&env, "k");
    let before = std::fs::read(&sealed).unwrap();
    let out = env.ok(&["rewrap", "bkt/k", "--kms-key", "alias/second"]);
    assert!(out.contains(&arn2), "{out}");
    // The same data file, untouched: only the pointer with the envelope was replaced.
    assert_eq!(data_file(&env, "k"), sealed);
    assert_eq!(std::fs::read(&sealed).unwrap(), before);
    assert_eq!(env.run(&["get", "bkt/k"]).stdout, data);
    // SSE-S3 -> SSE-KMS.
    assert!(
        env.ok(&["rewrap", "bkt/s3", "--kms-key", &arn2])
            .contains("aws:kms")
    );
    assert_eq!(env.run(&["get", "bkt/s3"]).stdout, data);
    // SSE-C cannot be rewrapped.
    let key = env.write("c.key", &[1u8; 32]);
    env.ok(&["put", "bkt/c", s(&f), "--sse-c-key-file", s(&key)]);
    assert!(
        env.err(&["rewrap", "bkt/c", "--kms-key", "alias/second"])
            .contains("error: ")
    );
    let i = env.ok(&["inspect", "bkt/k"]);
    assert!(i.contains(&arn2), "{i}");
}

#[test]
fn sealed_files() {
    let env = Env::new();
    let data = pattern(400_000, 8);
    let f = env.write("in", &data);
    let sf = env.path("f.s3sf");
    let o = env.path("f.out");
    // Files, default SSE-S3.
    env.ok(&["encrypt", "-i", s(&f), "-o", s(&sf)]);
    // A file output: version 2, the sealed bytes streamed to their place at 4096.
    let bytes = std::fs::read(&sf).unwrap();
    assert_eq!(&bytes[..5], b"S3SF\x02");
    assert_eq!(&bytes[4096..4100], b"S3SL");
    env.ok(&["decrypt", "-i", s(&sf), "-o", s(&o)]);
    assert_eq!(std::fs::read(&o).unwrap(), data);
    std::fs::remove_file(&o).unwrap();
    // Pipes, SSE-KMS and DSSE.
    for sse in ["aws:kms", "aws:kms:dsse"] {
        let enc = env.run_stdin(&["encrypt", "--sse", sse], &data);
        assert!(
            enc.status.success(),
            "{}",
            String::from_utf8_lossy(&enc.stderr)
        );
        // Standard output cannot seek: version 1, spooled.
        assert_eq!(&enc.stdout[..5], b"S3SF\x01");
        let dec = env.run_stdin(&["decrypt"], &enc.stdout);
        assert!(dec.status.success());
        assert_eq!(dec.stdout, data, "{sse}");
    }
    // SSE-C: only with the key.
    let key = env.write("c.key", &[4u8; 32]);
    let wrong = env.write("w.key", &[5u8; 32]);
    let sfc = env.path("c.s3sf");
    env.ok(&[
        "encrypt",
        "-i",
        s(&f),
        "-o",
        s(&sfc),
        "--sse-c-key-file",
        s(&key),
    ]);
    assert!(
        env.err(&["decrypt", "-i", s(&sfc), "-o", s(&o)])
            .contains("InvalidRequest")
    );
    assert!(!o.exists());
    assert!(
        env.err(&[
            "decrypt",
            "-i",
            s(&sfc),
            "-o",
            s(&o),
            "--sse-c-key-file",
            s(&wrong)
        ])
        .contains("AccessDenied")
    );
    assert!(!o.exists());
    env.ok(&[
        "decrypt",
        "-i",
        s(&sfc),
        "-o",
        s(&o),
        "--sse-c-key-file",
        s(&key),
    ]);
    assert_eq!(std::fs::read(&o).unwrap(), data);
    std::fs::remove_file(&o).unwrap();

    let good = std::fs::read(&sf).unwrap();
    let bad = |name: &str, bytes: &[u8]| -> String {
        let p = env.write(name, bytes);
        let e = env.err(&["decrypt", "-i", s(&p), "-o", s(&o)]);
        assert!(!o.exists(), "{name}: output left behind");
        e
    };
    // Tampered: one flipped byte in the ciphertext, in the envelope.
    let mut t = good.clone();
    t[good.len() - 5000] ^= 1;
    assert_eq!(
        bad("t1", &t).trim(),
        "error: InternalError: stored object failed authentication"
    );
    let mut t = good.clone();
    t[30] ^= 1;
    assert!(bad("t2", &t).contains("error: "));
    // Truncated: in the data, in the envelope, in the header, empty.
    assert!(bad("tr1", &good[..good.len() - 1]).contains("InternalError"));
    assert!(bad("tr2", &good[..40]).contains("truncated"));
    assert!(bad("tr3", &good[..7]).contains("truncated"));
    assert!(bad("tr4", b"").contains("bad magic"));
    // Not a sealed file, another version, trailing garbage.
    assert!(bad("nm", b"hello world, this is plain").contains("bad magic"));
    let mut v = good.clone();
    v[4] = 3;
    assert!(bad("v3", &v).contains("version 3"));
    // The padded file read as version 1: its padding length is not a reserved zero.
    v[4] = 1;
    assert!(bad("v1", &v).contains("reserved header bytes are not zero"));
    let mut g = good.clone();
    g.extend_from_slice(b"x");
    assert!(bad("tail", &g).contains("error: "));
    // Another home cannot decrypt it (its keystore has other keys).
    let other = Env::new();
    let e = other.err(&["decrypt", "-i", s(&sf), "-o", s(&o)]);
    assert!(e.contains("error: "), "{e}");
    assert!(!o.exists());
}

#[test]
fn inspect_without_decrypting() {
    let env = Env::new();
    let f = env.write("in", &pattern(70_000, 9));
    let sf = env.path("f.s3sf");
    env.ok(&["encrypt", "-i", s(&f), "-o", s(&sf), "--sse", "aws:kms"]);
    let t = env.ok(&["inspect", s(&sf)]);
    assert!(
        t.contains("mode:        SSE-KMS (aws:kms)")
            && t.contains("chunk size:  65536")
            && t.contains("plaintext:   70000"),
        "{t}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", s(&sf), "--json"])).unwrap();
    assert_eq!(v["plaintext_len"], 70_000);
    assert_eq!(v["envelope_version"], 1);
    assert!(v["key_arn"].as_str().unwrap().starts_with("arn:aws:kms:"));
    assert!(v["sealed_len"].as_u64().unwrap() > 70_000);
    let junk = env.write("junk", b"junk");
    assert!(env.err(&["inspect", s(&junk)]).contains("bad magic"));
    assert!(env.err(&["inspect", "nob/such"]).contains("NoSuchBucket"));
}

#[test]
fn demo_passes() {
    let env = Env::new();
    let keep = env.path("kept");
    let o = env.run(&["demo", "--size", "6MiB", "--keep", s(&keep)]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("checks passed") && !out.contains("FAIL"),
        "{out}"
    );
    assert!(out.contains("InvalidArgument"));
    assert!(keep.join("home/keystore.json").exists());
}

#[test]
fn bench_runs() {
    let env = Env::new();
    let out = env.ok(&["bench", "--size", "1MiB", "--threads", "2"]);
    for mode in ["SSE-S3", "SSE-KMS", "DSSE-KMS", "SSE-C", "GB/s"] {
        assert!(out.contains(mode), "{out}");
    }
}

#[test]
fn usage_errors() {
    let env = Env::new();
    let o = env.run(&["put"]);
    assert_eq!(o.status.code(), Some(2));
    let o = env.run(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(env.ok(&["--help"]).contains("encrypt"));
    env.ok(&["bucket", "create", "bkt"]);
    let e = env.err(&["put", "bkt/x", "/no/such/file"]);
    assert!(e.contains("/no/such/file"), "{e}");
}

#[test]
fn keystore_loss_and_rollback_are_refused_with_what_to_restore() {
    let env = Env::with_bucket();
    let f = env.write("in", b"kept");
    env.ok(&["put", "bkt/x", s(&f), "--sse", "AES256"]);
    let ks = env.path("home/keystore.json");
    let saved = std::fs::read(&ks).unwrap();
    // A key created after the backup, then the backup restored: refused, never silently used.
    env.ok(&["keys", "create", "--alias", "later"]);
    std::fs::write(&ks, &saved).unwrap();
    let e = env.err(&["get", "bkt/x"]);
    assert!(
        e.contains("rolled back") && e.contains("--accept-keystore-rollback"),
        "{e}"
    );
    // On purpose: accepted once, then the home works again.
    env.ok(&["--accept-keystore-rollback", "keys", "list"]);
    assert_eq!(env.run(&["get", "bkt/x"]).stdout, b"kept");
    // A deleted keystore in a home that holds buckets is never replaced by a new one.
    std::fs::remove_file(&ks).unwrap();
    let e = env.err(&["keys", "list"]);
    assert!(e.contains("restore keystore.json"), "{e}");
    assert!(!ks.exists());
}

/// Processes, not threads: concurrent first writes to a fresh home (each creating the keystore,
/// the managed keys and data keys) and concurrent writers of one key. Every write that exited 0
/// reads back; one key holds one writer's whole version.
#[test]
fn concurrent_processes_lose_no_acknowledged_write() {
    for round in 0..3 {
        let env = Env::new();
        // Fresh home: keystore, root secret and keys created by racing processes.
        let creators: Vec<_> = (0..6)
            .map(|i| {
                env.cmd()
                    .args(["keys", "create", "--alias", &format!("a{i}")])
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in creators {
            assert!(c.wait_with_output().unwrap().status.success());
        }
        let keys = env.ok(&["keys", "list"]);
        for i in 0..6 {
            assert!(
                keys.contains(&format!("alias/a{i}")),
                "round {round}: key a{i} lost: {keys}"
            );
        }
        env.ok(&["bucket", "create", "bkt"]);
        let inputs: Vec<_> = (0..6u8)
            .map(|i| env.write(&format!("in{i}"), &pattern(200_000 + usize::from(i), i)))
            .collect();
        let sse = ["AES256", "aws:kms"][round % 2];
        let spawn =
            |args: Vec<String>| env.cmd().args(args).stderr(Stdio::piped()).spawn().unwrap();
        let children: Vec<_> = inputs
            .iter()
            .enumerate()
            .map(|(i, f)| {
                spawn(vec![
                    "put".into(),
                    format!("bkt/k{i}"),
                    s(f).into(),
                    "--sse".into(),
                    sse.into(),
                ])
            })
            .chain(inputs.iter().map(|f| {
                spawn(vec![
                    "put".into(),
                    "bkt/same".into(),
                    s(f).into(),
                    "--sse".into(),
                    sse.into(),
                ])
            }))
            .collect();
        let ok: Vec<bool> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap().status.success())
            .collect();
        for (i, f) in inputs.iter().enumerate() {
            if ok[i] {
                assert_eq!(
                    env.run(&["get", &format!("bkt/k{i}")]).stdout,
                    std::fs::read(f).unwrap()
                );
            }
        }
        assert!(ok.iter().all(|&o| o), "round {round}: a put failed: {ok:?}");
        let same = env.run(&["get", "bkt/same"]).stdout;
        assert!(
            inputs.iter().any(|f| std::fs::read(f).unwrap() == same),
            "round {round}: bkt/same is no writer's whole version"
        );
    }
}

/// A command's stderr must not show a panic.
#[track_caller]
fn no_panic(o: &Output) {
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!e.contains("panicked"), "{e}");
    assert_ne!(o.status.code(), Some(101), "{e}");
}

#[cfg(unix)]
#[test]
fn output_onto_devices_and_fifos_writes_through() {
    use std::os::unix::fs::FileTypeExt;
    let env = Env::with_bucket();
    let data = pattern(300_000, 11);
    let f = env.write("in", &data);
    env.ok(&["put", "bkt/o", s(&f)]);

    // First a private character device (root can make one), so a regression fails here
    // without replacing the machine's /dev/null.
    let dev = env.path("null-dev");
    let made = Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|st| st.success());
    if made {
        env.ok(&["get", "bkt/o", "-o", s(&dev)]);
        env.ok(&["encrypt", "-i", s(&f), "-o", s(&dev)]);
        assert!(
            std::fs::symlink_metadata(&dev)
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
    // /dev/null stays a character device (the bug replaced it with the plaintext, as root).
    env.ok(&["get", "bkt/o", "-o", "/dev/null"]);
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    // A symbolic link to a device: written through, the link stays a link.
    let link = env.path("null-link");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    env.ok(&["get", "bkt/o", "-o", s(&link)]);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );

    // A FIFO gets the bytes and stays a FIFO.
    let fifo = env.path("fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    env.ok(&["get", "bkt/o", "-o", s(&fifo)]);
    assert!(reader.join().unwrap() == data);
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    // A sealed file written into a FIFO.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    env.ok(&["encrypt", "-i", s(&f), "-o", s(&fifo)]);
    let sealed = reader.join().unwrap();
    assert!(sealed.starts_with(b"S3SF"));

    // A symbolic link to a regular file: the file is replaced, the link kept.
    let target = env.write("target", b"old");
    let flink = env.path("file-link");
    std::os::unix::fs::symlink(&target, &flink).unwrap();
    env.ok(&["get", "bkt/o", "-o", s(&flink)]);
    assert!(
        std::fs::symlink_metadata(&flink)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read(&target).unwrap() == data);
    // A dangling link and a directory are refused, and left alone.
    let dangling = env.path("dangling");
    std::os::unix::fs::symlink(env.path("nothing"), &dangling).unwrap();
    assert!(
        env.err(&["get", "bkt/o", "-o", s(&dangling)])
            .contains("symbolic link")
    );
    assert!(!env.path("nothing").exists());
    let dir = env.path("adir");
    std::fs::create_dir(&dir).unwrap();
    assert!(
        env.err(&["get", "bkt/o", "-o", s(&dir)])
            .contains("not a regular file")
    );
    assert!(dir.is_dir());
    // Regular files are still written atomically: a failed read leaves an old file alone.
    let kept = env.write("kept", b"old");
    env.err(&["get", "bkt/missing", "-o", s(&kept)]);
    assert_eq!(std::fs::read(&kept).unwrap(), b"old");
}

/// Runs `args` against a memory limit (`ulimit -v`, KiB) with a time limit, via the shell.
fn bounded(env: &Env, args: &[&str], kib: u64) -> Output {
    let mut script = format!("ulimit -v {kib}; exec \"$@\"");
    script.push('\n');
    let start = std::time::Instant::now();
    let o = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .arg("sh")
        .arg(BIN)
        .arg("--home")
        .arg(env.path("home"))
        .arg("--quiet")
        .args(args)
        .env_remove("S3SEAL_HOME")
        .env_remove("S3SEAL_ROOT_KEY")
        .output()
        .unwrap();
    assert!(
        start.elapsed() < std::time::Duration::from_secs(30),
        "{args:?} took {:?}",
        start.elapsed()
    );
    o
}

#[cfg(unix)]
#[test]
fn unbounded_inputs_are_refused() {
    let env = Env::with_bucket();
    // 4 GiB of address space: far more than the CLI needs, far less than /dev/zero would take.
    let limit = 4 << 20;
    let o = bounded(
        &env,
        &["bucket", "set-encryption", "bkt", "--file", "/dev/zero"],
        limit,
    );
    no_panic(&o);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.starts_with("error: MaxMessageLengthExceeded"), "{e}");
    assert!(e.contains("16384"), "{e}");
    let f = env.write("in", b"data");
    env.ok(&["put", "bkt/k", s(&f)]);
    for args in [
        &["put", "bkt/k", s(&f), "--sse-c-key-file", "/dev/zero"][..],
        &["get", "bkt/k", "--sse-c-key-file", "/dev/zero"][..],
        &["head", "bkt/k", "--sse-c-key-file", "/dev/zero"][..],
        &["decrypt", "-i", s(&f), "--sse-c-key-file", "/dev/zero"][..],
    ] {
        let o = bounded(&env, args, limit);
        no_panic(&o);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains("is not a 32-byte key"), "{args:?}: {e}");
    }
    assert_eq!(env.run(&["get", "bkt/k"]).stdout, b"data");
    env.ok(&["put", "bkt/src", s(&f)]);
    let o = bounded(
        &env,
        &[
            "copy",
            "bkt/src",
            "bkt/dst",
            "--copy-source-sse-c-key-file",
            "/dev/zero",
        ],
        limit,
    );
    no_panic(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a 32-byte key"));
    assert!(env.err(&["head", "bkt/dst"]).contains("NoSuchKey"));
    // A key file of exactly 1 KiB is read (and refused by the policy as S3 does).
    let big = env.write("big.key", &[7u8; 1024]);
    assert!(
        env.err(&["put", "bkt/k", s(&f), "--sse-c-key-file", s(&big)])
            .contains("InvalidArgument")
    );
}

#[test]
fn part_sizes_are_bounded() {
    let env = Env::with_bucket();
    let old = pattern(1000, 12);
    let f = env.write("old", &old);
    env.ok(&["put", "bkt/p", s(&f)]);
    let new = pattern(100_000, 13);
    for ps in ["18446744073709551615", "1024GiB", "0", "6GiB", "5368709121"] {
        // From standard input (multipart of unknown length) and from a file.
        let o = env.run_stdin(&["put", "bkt/p", "-", "--part-size", ps], &new);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(1), "{ps}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.starts_with("error: --part-size") && e.contains("5 MiB to 5 GiB"),
            "{ps}: {e}"
        );
        let nf = env.write("new", &new);
        let e = env.err(&["put", "bkt/p", s(&nf), "--part-size", ps]);
        assert!(e.contains("out of range"), "{ps}: {e}");
        // The existing object is untouched.
        assert_eq!(env.run(&["get", "bkt/p"]).stdout, old, "{ps}");
    }
    // Below 5 MiB from standard input: EntityTooSmall before anything is read or stored.
    let o = env.run_stdin(&["put", "bkt/p", "-", "--part-size", "1MiB"], &new);
    assert!(String::from_utf8_lossy(&o.stderr).contains("EntityTooSmall"));
    assert_eq!(env.run(&["get", "bkt/p"]).stdout, old);
    // More than 10,000 parts of a file of known length: refused before reading.
    let sparse = env.path("sparse");
    let file = std::fs::File::create(&sparse).unwrap();
    file.set_len((5 << 20) * 10_001).unwrap();
    let e = env.err(&["put", "bkt/p", s(&sparse), "--part-size", "5MiB"]);
    assert!(e.contains("10000") && e.contains("--part-size"), "{e}");
    assert_eq!(env.run(&["get", "bkt/p"]).stdout, old);
}

#[test]
fn names_are_checked() {
    let env = Env::with_bucket();
    for bad in [
        "a..b",
        "192.168.5.4",
        "xn--abc",
        "sthree-x",
        "amzn-s3-demo-bucket",
        "bkt-s3alias",
        "bkt--ol-s3",
        "bkt.mrap",
        "bkt--use1-az4--x-s3",
        "ab",
        "ab-",
        "Upper",
    ] {
        let e = env.err(&["bucket", "create", bad]);
        assert!(e.starts_with("error: InvalidBucketName"), "{bad}: {e}");
        let e = env.err(&["put", &format!("{bad}/k"), "/dev/null"]);
        assert!(
            e.contains("InvalidBucketName") || e.contains("NoSuchBucket"),
            "{bad}: {e}"
        );
    }
    assert!(!env.path("home/buckets/a..b").exists());
    // Directory buckets: with S3's zone suffix or a plain local name; no dots.
    env.ok(&[
        "bucket",
        "create",
        "dir--use1-az4--x-s3",
        "--kind",
        "directory",
    ]);
    env.ok(&["bucket", "create", "dirb", "--kind", "directory"]);
    assert!(
        env.err(&["bucket", "create", "d.b", "--kind", "directory"])
            .contains("InvalidBucketName")
    );
    let f = env.write("in", b"x");
    env.ok(&["put", "dir--use1-az4--x-s3/k", s(&f)]);
    // Keys: 1,024 bytes of UTF-8 at most.
    let ok = format!("bkt/{}", "k".repeat(1024));
    env.ok(&["put", &ok, s(&f)]);
    for long in ["k".repeat(1025), "€".repeat(342)] {
        let t = format!("bkt/{long}");
        let e = env.err(&["put", &t, s(&f)]);
        assert_eq!(
            e.trim(),
            "error: KeyTooLongError: Your key is too long. (object key is longer than 1024 bytes)"
        );
        assert!(env.err(&["get", &t]).contains("KeyTooLongError"));
        assert!(env.err(&["copy", "bkt/x", &t]).contains("KeyTooLongError"));
    }
}

#[test]
fn failed_stdout_writes_do_not_panic() {
    let env = Env::with_bucket();
    let f = env.write("in", &pattern(10_000, 14));
    // A full disk: a one-line error.
    for args in [
        &["keys", "list"][..],
        &["put", "bkt/full", s(&f)][..],
        &["inspect", "bkt/full", "--json"][..],
        &["get", "bkt/full"][..],
        &["bucket", "get-encryption", "bkt"][..],
    ] {
        if args[0] == "bucket" {
            env.ok(&["bucket", "set-encryption", "bkt", "--sse", "AES256"]);
        }
        let o = env
            .cmd()
            .args(args)
            .stdout(Stdio::from(std::fs::File::create("/dev/full").unwrap()))
            .output()
            .unwrap();
        no_panic(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.starts_with("error: write")
                && e.contains("No space left on device")
                && e.lines().count() == 1,
            "{args:?}: {e}"
        );
    }
    // A closed pipe: quiet, no panic, exit 141 (128 + SIGPIPE).
    for _ in 0..5 {
        env.ok(&["keys", "create"]);
    }
    for args in [
        &["keys", "list"][..],
        &["inspect", "bkt/full", "--json"][..],
        &["get", "bkt/full"][..],
        &["put", "bkt/pipe", s(&f)][..],
    ] {
        // A pipe whose read end is closed before the command starts. (Another test's fork may
        // briefly hold a copy of the read end, so a write can rarely succeed: retry.)
        let mut quiet_exits = 0;
        for _ in 0..5 {
            let (r, w) = std::io::pipe().unwrap();
            drop(r);
            let o = env
                .cmd()
                .args(args)
                .stdout(Stdio::from(w))
                .output()
                .unwrap();
            no_panic(&o);
            assert!(
                o.stderr.is_empty(),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
            match o.status.code() {
                Some(141) => quiet_exits += 1,
                Some(0) => {}
                other => panic!("{args:?}: exit {other:?}"),
            }
        }
        assert!(quiet_exits > 0, "{args:?}");
    }
    // A closed standard error on a failing command: no panic either.
    let o = env
        .cmd()
        .args(["get", "bkt/missing"])
        .stderr(Stdio::from(std::fs::File::create("/dev/full").unwrap()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
}

/// The files of `bkt/KEY`: its sealed bytes and the file that ends with its envelope, in either
/// store layout (`HEX.sealed` + `HEX.env`, or `HEX/ID.data` + `HEX/current`).
fn stored_files(env: &Env, key: &str) -> (PathBuf, PathBuf) {
    let objects = env.path("home/buckets/bkt/objects");
    let hex = hex::encode(key);
    let flat = objects.join(format!("{hex}.sealed"));
    if flat.exists() {
        return (flat, objects.join(format!("{hex}.env")));
    }
    let dir = objects.join(&hex);
    let data = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "data"))
        .unwrap();
    (data, dir.join("current"))
}

#[test]
fn corrupt_objects_name_their_file() {
    let env = Env::with_bucket();
    let f = env.write("in", &pattern(100_000, 15));
    env.ok(&["put", "bkt/c", s(&f), "--sse", "aws:kms"]);
    let (sealed, envelope) = stored_files(&env, "c");
    let orig = std::fs::read(&envelope).unwrap();
    let mut bad = orig.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    std::fs::write(&envelope, &bad).unwrap();
    for args in [
        &["get", "bkt/c"][..],
        &["get", "bkt/c", "--range", "bytes=0-9"][..],
        &["head", "bkt/c"][..],
        &["copy", "bkt/c", "bkt/d"][..],
        &["rewrap", "bkt/c", "--kms-key", "alias/demo"][..],
    ] {
        let e = env.err(args);
        assert!(
            e.starts_with("error: InternalError: stored object bkt/c is corrupt (")
                && e.contains(s(&sealed)),
            "{args:?}: {e}"
        );
    }
    std::fs::write(&envelope, &orig).unwrap();
    let data = std::fs::read(&sealed).unwrap();
    std::fs::write(&sealed, &data[..data.len() - 1]).unwrap();
    let e = env.err(&["get", "bkt/c"]);
    assert!(
        e.contains("stored object bkt/c is corrupt") && e.contains(s(&sealed)),
        "{e}"
    );
    // Errors that are not corruption are unchanged.
    assert_eq!(
        env.err(&["get", "bkt/nokey"]).trim(),
        "error: NoSuchKey: The specified key does not exist."
    );
}

#[test]
fn delete_bucket_encryption_returns_to_sse_s3() {
    let env = Env::with_bucket();
    env.ok(&["bucket", "set-encryption", "bkt", "--sse", "aws:kms"]);
    assert!(
        env.ok(&["bucket", "get-encryption", "bkt"])
            .contains("aws:kms")
    );
    env.ok(&["bucket", "delete-encryption", "bkt"]);
    let e = env.err(&["bucket", "get-encryption", "bkt"]);
    assert!(
        e.contains("ServerSideEncryptionConfigurationNotFoundError"),
        "{e}"
    );
    let f = env.write("in", b"x");
    assert!(env.ok(&["put", "bkt/x", s(&f)]).contains("AES256"));
}

#[test]
fn part_reads_get_and_head_one_part() {
    let env = Env::with_bucket();
    let data = pattern(11 << 20, 9);
    let f = env.write("in", &data);
    env.ok(&[
        "put",
        "bkt/mp",
        s(&f),
        "--sse",
        "AES256",
        "--part-size",
        "5MiB",
    ]);
    let o = env.path("p2");
    let out = env.ok(&["get", "bkt/mp", "--part-number", "2", "-o", s(&o)]);
    assert!(out.contains("x-amz-mp-parts-count: 3"), "{out}");
    assert!(std::fs::read(&o).unwrap() == data[5 << 20..10 << 20]);
    let h = env.ok(&["head", "bkt/mp", "--part-number", "3"]);
    assert!(
        h.contains(&format!("content-length: {}", data.len() - (10 << 20))),
        "{h}"
    );
    let e = env.err(&["get", "bkt/mp", "--part-number", "4"]);
    assert!(e.contains("InvalidPartNumber"), "{e}");
}
