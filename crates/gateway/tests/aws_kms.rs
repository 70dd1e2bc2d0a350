//! The gateway on a remote KMS (feature `aws`): `HOME/kms.json` names moto's KMS-API server on
//! loopback, and the `s3seal-gateway` binary serves SSE-S3, SSE-KMS (by alias, with a Bucket
//! Key) and DSSE-KMS objects whose data keys come from it; a key the KMS does not have is S3's
//! `KMS.NotFoundException`.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use s3seal::kms::testing::moto::{MOTO_ACCOUNT, MOTO_REGION, MotoServer};

const AK: &str = "gw-aws-kms";
const SK: &str = "gw-aws-kms-secret-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_objects_round_trip_through_aws_kms_on_moto() {
    let server = MotoServer::start(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let kms = server.kms();
    let root = kms.create_key("sse-s3 root").unwrap();
    kms.create_alias("alias/s3seal/sse-s3", &root.arn).unwrap();
    let app = kms.create_key("app").unwrap();
    kms.create_alias("alias/app", &app.arn).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("kms.json"),
        format!(
            r#"{{"kind":"aws","endpoint":"{}","region":"{MOTO_REGION}","credentials":"env","account":"{MOTO_ACCOUNT}"}}"#,
            server.endpoint()
        ),
    )
    .unwrap();
    // The gateway's own SigV4 credentials come from a file (the environment holds the KMS's).
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        format!("[default]\naws_access_key_id = {AK}\naws_secret_access_key = {SK}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&creds, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_s3seal-gateway"))
        .arg("--home")
        .arg(&home)
        .args(["--listen", "127.0.0.1:0", "--credentials"])
        .arg(&creds)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start s3seal-gateway");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.rsplit(' ').next().unwrap().trim().to_owned();
    assert!(url.starts_with("http://"), "{line:?}");

    let s3 = Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(AK, SK, None, None, "test"))
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("remote").send().await.unwrap();
    let body = b"sealed under a key held by a KMS over the wire".repeat(5000);
    for (name, sse, key, bucket_key) in [
        ("s3", ServerSideEncryption::Aes256, None, false),
        ("kms", ServerSideEncryption::AwsKms, Some("alias/app"), true),
        (
            "dsse",
            ServerSideEncryption::AwsKmsDsse,
            Some("alias/app"),
            false,
        ),
    ] {
        let put = s3
            .put_object()
            .bucket("remote")
            .key(name)
            .body(ByteStream::from(body.clone()))
            .server_side_encryption(sse.clone())
            .set_ssekms_key_id(key.map(str::to_owned))
            .set_bucket_key_enabled(bucket_key.then_some(true))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        if key.is_some() {
            assert_eq!(put.ssekms_key_id(), Some(app.arn.as_str()), "{name}");
        }
        let got = s3
            .get_object()
            .bucket("remote")
            .key(name)
            .send()
            .await
            .unwrap();
        assert_eq!(got.server_side_encryption(), Some(&sse), "{name}");
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(&bytes[..], &body[..], "{name}");
    }
    let e = s3
        .put_object()
        .bucket("remote")
        .key("nope")
        .body(ByteStream::from_static(b"x"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id("alias/none")
        .send()
        .await
        .expect_err("an unknown key is refused");
    assert_eq!(
        e.as_service_error().and_then(|s| s.meta().code()),
        Some("KMS.NotFoundException"),
        "{e:?}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
