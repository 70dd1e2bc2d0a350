//! PUT and GET of 64 MiB objects through the S3 gateway on loopback, driven by the Rust
//! `aws-sdk-s3` client, per mode, with 1 and 8 concurrent clients — against the same gateway
//! with no encryption (an FSx access-point bucket: the same server, store, fsync and ETag MD5,
//! the identity codec instead of AES-GCM), measured in the same run.
//!
//! Groups `gateway-put/<clients>c` and `gateway-get/<clients>c`; ids are the mode: `plain`
//! (FSx, no encryption), `sse-s3`, `sse-kms`, `dsse-kms`, `sse-c` (over plain HTTP with
//! `allow_insecure_sse_c`, loopback only). Throughput counts the object bytes of all clients.
//! The gateway and the clients run in this process on one tokio runtime and share the
//! machine's cores (the gateway's encryption pool has one thread per core).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    reason = "bench and test code: a panic is the failure report"
)]

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use base64::Engine as _;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use md5::Digest as _;
use s3seal::policy::BucketKind;
use s3seal_gateway::{Gateway, HomeOptions, ServerConfig};

/// The account that owns the home's buckets (its keystore's default account).
fn gw_account(home: &tempfile::TempDir) -> String {
    s3seal::kms::LocalKms::open_dir(home.path())
        .expect("keystore")
        .requester()
        .account()
        .to_owned()
}

const MIB: usize = 1 << 20;
const SIZE: usize = 64 * MIB;
const AK: &str = "bench";
const SK: &str = "bench-secret-0123456789abcdef";
const MODES: [&str; 5] = ["plain", "sse-s3", "sse-kms", "dsse-kms", "sse-c"];

struct Setup {
    rt: tokio::runtime::Runtime,
    s3: Client,
    _running: s3seal_gateway::Running,
    _home: tempfile::TempDir,
    ckey64: String,
    cmd5: String,
}

fn setup() -> Setup {
    let home = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let gw = Gateway::open(
        home.path(),
        &HomeOptions {
            allow_insecure_sse_c: true,
            ..HomeOptions::default()
        },
    )
    .expect("gateway");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        credentials: s3seal_gateway::Credentials::new(AK, SK).expect("credentials"),
        tls: None,
    };
    let running = rt
        .block_on(s3seal_gateway::start(gw, config))
        .expect("start");
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(format!("http://{}", running.addr()))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(AK, SK, None, None, "bench"))
        .force_path_style(true)
        .build();
    let s3 = Client::from_conf(conf);
    rt.block_on(async { s3.create_bucket().bucket("bench").send().await })
        .expect("bucket");
    // The baseline bucket: an FSx access point (made in the home, as `s3seal bucket create
    // --kind fsx` does; S3 has no CreateBucket for one).
    let account = gw_account(&home);
    s3seal_store::Store::open(home.path())
        .and_then(|st| {
            st.create_bucket(
                "bench-plain",
                BucketKind::FsxAccessPoint,
                &account,
                "us-east-1",
            )
        })
        .expect("fsx bucket");
    let key = [9u8; 32];
    Setup {
        rt,
        s3,
        _running: running,
        _home: home,
        ckey64: base64::engine::general_purpose::STANDARD.encode(key),
        cmd5: base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(key)),
    }
}

async fn put(s: &Setup, mode: &str, key: String, body: ByteStream) {
    let bucket = if mode == "plain" {
        "bench-plain"
    } else {
        "bench"
    };
    let mut req = s.s3.put_object().bucket(bucket).key(key).body(body);
    req = match mode {
        "sse-s3" => req.server_side_encryption(ServerSideEncryption::Aes256),
        "sse-kms" => req.server_side_encryption(ServerSideEncryption::AwsKms),
        "dsse-kms" => req.server_side_encryption(ServerSideEncryption::AwsKmsDsse),
        "sse-c" => req
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&s.ckey64)
            .sse_customer_key_md5(&s.cmd5),
        _ => req,
    };
    req.send().await.expect("put");
}

async fn get(s: &Setup, mode: &str, key: String) -> usize {
    let bucket = if mode == "plain" {
        "bench-plain"
    } else {
        "bench"
    };
    let mut req = s.s3.get_object().bucket(bucket).key(key);
    if mode == "sse-c" {
        req = req
            .sse_customer_algorithm("AES256")
            .sse_customer_key(&s.ckey64)
            .sse_customer_key_md5(&s.cmd5);
    }
    let out = req.send().await.expect("get");
    let mut body = out.body;
    let mut n = 0;
    while let Some(chunk) = body.try_next().await.expect("body") {
        n += chunk.len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let s = Arc::new(setup());
    let data = bytes::Bytes::from(
        (0..SIZE)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1])
            .collect::<Vec<u8>>(),
    );
    for clients in [1usize, 8] {
        let mut g = c.benchmark_group(format!("gateway-put/{clients}c"));
        g.throughput(Throughput::Bytes((SIZE * clients) as u64));
        g.sample_size(10).measurement_time(Duration::from_secs(8));
        for mode in MODES {
            g.bench_function(BenchmarkId::from_parameter(mode), |b| {
                b.iter(|| {
                    s.rt.block_on(async {
                        let puts = (0..clients).map(|i| {
                            put(
                                &s,
                                mode,
                                format!("{mode}/{i}"),
                                ByteStream::from(data.clone()),
                            )
                        });
                        futures::future::join_all(puts).await;
                    });
                });
            });
        }
        g.finish();
        let mut g = c.benchmark_group(format!("gateway-get/{clients}c"));
        g.throughput(Throughput::Bytes((SIZE * clients) as u64));
        g.sample_size(10).measurement_time(Duration::from_secs(8));
        for mode in MODES {
            g.bench_function(BenchmarkId::from_parameter(mode), |b| {
                b.iter(|| {
                    s.rt.block_on(async {
                        let gets = (0..clients).map(|i| get(&s, mode, format!("{mode}/{i}")));
                        let n: usize = futures::future::join_all(gets).await.into_iter().sum();
                        assert_eq!(n, SIZE * clients);
                    });
                });
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
