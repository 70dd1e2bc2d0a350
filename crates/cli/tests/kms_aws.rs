//! `s3seal --kms aws` against moto's KMS-API server on loopback (feature `aws`): the flags and
//! `HOME/kms.json` select it, objects round trip through it, its errors come out with S3's
//! codes, and `s3seal keys` says it manages only the embedded keystore.

use std::path::Path;
use std::process::{Command, Output};

use s3seal_kms::testing::moto::{MOTO_ACCOUNT, MOTO_REGION, MotoServer};

const BIN: &str = env!("CARGO_BIN_EXE_s3seal");

fn s3seal(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--home")
        .arg(home)
        .arg("--quiet")
        .args(args)
        .env_remove("S3SEAL_HOME")
        .env_remove("S3SEAL_ROOT_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
}

#[track_caller]
fn ok(home: &Path, args: &[&str]) -> String {
    let o = s3seal(home, args);
    assert!(
        o.status.success(),
        "s3seal {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[track_caller]
fn fails(home: &Path, args: &[&str]) -> String {
    let o = s3seal(home, args);
    assert!(!o.status.success(), "s3seal {args:?} succeeded");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn objects_round_trip_through_aws_kms_on_moto() {
    let server = MotoServer::start(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let kms = server.kms();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let home = dir.path().join("home");
    let endpoint = server.endpoint();
    let flags = [
        "--kms",
        "aws",
        "--kms-endpoint",
        endpoint.as_str(),
        "--kms-region",
        MOTO_REGION,
        "--kms-credentials",
        "env",
    ];
    let with = |args: &[&str]| -> Vec<String> {
        flags.iter().chain(args).map(|s| (*s).to_owned()).collect()
    };
    let run_ok = |args: &[&str]| {
        let a = with(args);
        ok(&home, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let run_fails = |args: &[&str]| {
        let a = with(args);
        fails(&home, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // The SSE-S3 root key must exist in a remote KMS: refused with what to do.
    let e = run_fails(&["bucket", "create", "photos"]);
    assert!(e.contains("alias/s3seal/sse-s3"), "{e}");
    let root = kms
        .create_key("sse-s3 root")
        .unwrap_or_else(|e| panic!("{e}"));
    kms.create_alias("alias/s3seal/sse-s3", &root.arn)
        .unwrap_or_else(|e| panic!("{e}"));
    let app = kms.create_key("app").unwrap_or_else(|e| panic!("{e}"));
    kms.create_alias("alias/app", &app.arn)
        .unwrap_or_else(|e| panic!("{e}"));
    run_ok(&["bucket", "create", "photos"]);

    let body = b"a photo, sealed under a key in a KMS over the wire".repeat(100);
    let input = dir.path().join("in.bin");
    std::fs::write(&input, &body).unwrap_or_else(|e| panic!("{e}"));
    let input = input.to_str().unwrap_or_default();
    for (name, extra) in [
        ("s3", vec!["--sse", "AES256"]),
        ("kms", vec!["--sse", "aws:kms", "--kms-key", "alias/app"]),
        (
            "bk",
            vec!["--sse", "aws:kms", "--kms-key", "alias/app", "--bucket-key"],
        ),
        (
            "dsse",
            vec!["--sse", "aws:kms:dsse", "--kms-key", "alias/app"],
        ),
    ] {
        let target = format!("photos/{name}");
        let mut args = vec!["put", target.as_str(), input];
        args.extend(extra);
        run_ok(&args);
        let out = dir.path().join(format!("{name}.out"));
        let out_s = out.to_str().unwrap_or_default();
        run_ok(&["get", &target, "-o", out_s]);
        assert_eq!(std::fs::read(&out).unwrap_or_default(), body, "{name}");
        // HEAD names the KMS key the object is under.
        let head = run_ok(&["head", &target]);
        if name != "s3" {
            assert!(head.contains(&app.arn), "{head}");
        }
    }
    // A key that is not in the KMS: S3's code, not an internal error.
    let e = run_fails(&[
        "put",
        "photos/x",
        input,
        "--sse",
        "aws:kms",
        "--kms-key",
        "alias/nope",
    ]);
    assert!(e.contains("KMS.NotFoundException"), "{e}");
    // Key management is the remote KMS's own.
    let e = run_fails(&["keys", "list"]);
    assert!(e.contains("--kms local"), "{e}");

    // The same through HOME/kms.json, with flags still winning.
    std::fs::write(
        home.join("kms.json"),
        format!(
            r#"{{"kind":"aws","endpoint":"{endpoint}","region":"{MOTO_REGION}","credentials":"env","account":"{MOTO_ACCOUNT}"}}"#
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("again.out");
    ok(
        &home,
        &["get", "photos/kms", "-o", out.to_str().unwrap_or_default()],
    );
    assert_eq!(std::fs::read(&out).unwrap_or_default(), body);
    // --kms local over the file: this home holds objects but no keystore, and a fresh one
    // is never made where objects need the old one.
    let e = fails(&home, &["--kms", "local", "get", "photos/kms", "-o", "-"]);
    assert!(e.contains("keystore.json is missing"), "{e}");

    // The server gone: a retryable error with S3's code, never a partial output file.
    drop(server);
    let out = dir.path().join("down.out");
    let e = fails(
        &home,
        &["get", "photos/kms", "-o", out.to_str().unwrap_or_default()],
    );
    assert!(e.contains("ServiceUnavailable"), "{e}");
    assert!(!out.exists());
}
