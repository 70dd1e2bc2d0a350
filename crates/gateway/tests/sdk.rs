//! The Rust `aws-sdk-s3` client against the gateway, run in-process from the library API
//! (`Gateway::open`, `start`): round trips in SSE-S3, SSE-KMS, DSSE-KMS and SSE-C, single PUT
//! and multipart, whole and ranged reads.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "bench and test code: a panic is the failure report"
)]

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use base64::Engine as _;
use md5::Digest as _;
use s3seal_gateway::{Gateway, HomeOptions, ServerConfig};

const AK: &str = "sdk-test";
const SK: &str = "sdk-test-secret-0123456789abcdef";

async fn serve(home: &std::path::Path) -> (s3seal_gateway::Running, Client) {
    let gw = Gateway::open(
        home,
        &HomeOptions {
            allow_insecure_sse_c: true,
            ..HomeOptions::default()
        },
    )
    .expect("open the home");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        credentials: s3seal_gateway::Credentials::new(AK, SK).expect("credentials"),
        tls: None,
    };
    let running = s3seal_gateway::start(gw, config).await.expect("start");
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(format!("http://{}", running.addr()))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(AK, SK, None, None, "test"))
        .force_path_style(true)
        .build();
    (running, Client::from_conf(conf))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sdk_s3_round_trips_in_every_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (running, s3) = serve(dir.path()).await;
    s3.create_bucket()
        .bucket("sdk")
        .send()
        .await
        .expect("create bucket");
    let data: Vec<u8> = (0..3_000_017u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let ckey = [7u8; 32];
    let ckey64 = base64::engine::general_purpose::STANDARD.encode(ckey);
    let cmd5 = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(ckey));

    for mode in ["AES256", "aws:kms", "aws:kms:dsse", "SSE-C"] {
        let key = format!("obj/{mode}");
        let mut put = s3
            .put_object()
            .bucket("sdk")
            .key(&key)
            .body(ByteStream::from(data.clone()));
        put = match mode {
            "SSE-C" => put
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&ckey64)
                .sse_customer_key_md5(&cmd5),
            m => put.server_side_encryption(ServerSideEncryption::from(m)),
        };
        let out = put
            .send()
            .await
            .unwrap_or_else(|e| panic!("{mode}: put: {e:?}"));
        match mode {
            "SSE-C" => assert_eq!(out.sse_customer_key_md5(), Some(cmd5.as_str())),
            m => assert_eq!(out.server_side_encryption().map(|s| s.as_str()), Some(m)),
        }
        let mut get = s3
            .get_object()
            .bucket("sdk")
            .key(&key)
            .range("bytes=70000-1000000");
        if mode == "SSE-C" {
            get = get
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&ckey64)
                .sse_customer_key_md5(&cmd5);
        }
        let got = get
            .send()
            .await
            .unwrap_or_else(|e| panic!("{mode}: get: {e:?}"));
        let body = got.body.collect().await.expect("body").into_bytes();
        assert_eq!(&body[..], &data[70000..1000001], "{mode}: ranged read");

        // Multipart: 5 MiB + a tail.
        let mut create = s3
            .create_multipart_upload()
            .bucket("sdk")
            .key(format!("mp/{mode}"));
        create = match mode {
            "SSE-C" => create
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&ckey64)
                .sse_customer_key_md5(&cmd5),
            m => create.server_side_encryption(ServerSideEncryption::from(m)),
        };
        let id = create
            .send()
            .await
            .expect("create")
            .upload_id()
            .expect("id")
            .to_owned();
        let parts = [vec![1u8; 5 << 20], data.clone()];
        let mut done = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let n = i32::try_from(i + 1).expect("n");
            let mut up = s3
                .upload_part()
                .bucket("sdk")
                .key(format!("mp/{mode}"))
                .upload_id(&id)
                .part_number(n)
                .body(ByteStream::from(p.clone()));
            if mode == "SSE-C" {
                up = up
                    .sse_customer_algorithm("AES256")
                    .sse_customer_key(&ckey64)
                    .sse_customer_key_md5(&cmd5);
            }
            let e = up
                .send()
                .await
                .unwrap_or_else(|e| panic!("{mode}: part: {e:?}"));
            done.push(
                CompletedPart::builder()
                    .part_number(n)
                    .e_tag(e.e_tag().expect("etag"))
                    .build(),
            );
        }
        s3.complete_multipart_upload()
            .bucket("sdk")
            .key(format!("mp/{mode}"))
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done))
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{mode}: complete: {e:?}"));
        let mut get = s3.get_object().bucket("sdk").key(format!("mp/{mode}"));
        if mode == "SSE-C" {
            get = get
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&ckey64)
                .sse_customer_key_md5(&cmd5);
        }
        let body = get
            .send()
            .await
            .expect("get")
            .body
            .collect()
            .await
            .expect("body");
        assert_eq!(body.into_bytes(), parts.concat(), "{mode}: multipart read");
    }
    let listed = s3
        .list_objects_v2()
        .bucket("sdk")
        .send()
        .await
        .expect("list");
    assert_eq!(listed.contents().len(), 8);
    running.stop().await;
}
