//! The async adapter: whole-body and streaming calls give the same bytes as the blocking API.
#![cfg(feature = "async")]
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::executor::block_on;
use http::HeaderMap;
use s3seal::nonblocking::{AsyncEngine, OwnedRequest};
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{EngineBuilder, EngineConfig};
use s3seal_gcm::ChunkSize;

#[test]
fn async_put_get_and_streams_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        chunk: ChunkSize::MIN,
        ..EngineConfig::default()
    };
    let engine = Arc::new(
        EngineBuilder::local(dir.path())
            .unwrap()
            .threads(2)
            .config(config)
            .build()
            .unwrap(),
    );
    let a = AsyncEngine::new(engine);
    let mut headers = HeaderMap::new();
    headers.insert("x-amz-server-side-encryption", "aws:kms".parse().unwrap());
    let req = OwnedRequest {
        bucket: BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1"),
        key: "k".into(),
        headers,
        secure_transport: true,
    };
    let get_req_2 = OwnedRequest {
        headers: HeaderMap::new(),
        ..req.clone()
    };
    let get_req = OwnedRequest {
        headers: HeaderMap::new(),
        ..req.clone()
    };
    let body: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    block_on(async {
        let w = a
            .put_object(req.clone(), Bytes::from(body.clone()))
            .await
            .unwrap();
        let r = a
            .get_object(
                get_req.clone(),
                Bytes::from(w.envelope_bytes.clone()),
                w.sealed.clone(),
                Some(10..20_000),
            )
            .await
            .unwrap();
        assert_eq!(&r.body[..], &body[10..20_000]);

        let chunks: Vec<Bytes> = body.chunks(7000).map(Bytes::copy_from_slice).collect();
        let (sealed_stream, done) = a.put_object_stream(req, futures::stream::iter(chunks));
        let sealed: Vec<Bytes> = sealed_stream.map(Result::unwrap).collect().await;
        let env = done.await.unwrap().unwrap().envelope_bytes;
        let env_2 = env.clone();
        let (plain_stream, done) = a.get_object_stream(
            get_req,
            Bytes::from(env),
            futures::stream::iter(sealed.clone()),
        );
        let plain: Vec<Bytes> = plain_stream.map(Result::unwrap).collect().await;
        done.await.unwrap().unwrap();
        assert_eq!(plain.concat(), body);

        // A cut-off body ends its stream with an error item, not a clean end.
        let mut short = sealed.concat();
        short.truncate(short.len() - 1);
        let (stream, done) = a.get_object_stream(
            OwnedRequest {
                headers: HeaderMap::new(),
                ..get_req_2
            },
            Bytes::from(env_2),
            futures::stream::iter([Bytes::from(short)]),
        );
        let items: Vec<_> = stream.collect().await;
        assert!(items.last().unwrap().is_err());
        assert!(done.await.unwrap().is_err());
    });
}

/// Under a tokio runtime with a single thread, the adapter's calls never block that thread: a
/// timer task keeps ticking while 64 MiB are sealed and opened on the engine's pool, and the
/// streaming calls move their bodies through channels the runtime polls.
#[test]
fn a_single_threaded_tokio_runtime_keeps_running_during_engine_work() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(
        EngineBuilder::local(dir.path())
            .unwrap()
            .threads(2)
            .build()
            .unwrap(),
    );
    let a = AsyncEngine::new(engine);
    let mut headers = HeaderMap::new();
    headers.insert("x-amz-server-side-encryption", "AES256".parse().unwrap());
    let bucket = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    let put = OwnedRequest {
        bucket: bucket.clone(),
        key: "k".into(),
        headers,
        secure_transport: true,
    };
    let get = OwnedRequest {
        bucket,
        key: "k".into(),
        headers: HeaderMap::new(),
        secure_transport: true,
    };
    let body = Bytes::from(vec![7u8; 64 << 20]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let ticks = Arc::new(AtomicU64::new(0));
    rt.block_on(async {
        let t = ticks.clone();
        let ticker = tokio::spawn(async move {
            let mut i = tokio::time::interval(std::time::Duration::from_millis(1));
            loop {
                i.tick().await;
                t.fetch_add(1, Ordering::Relaxed);
            }
        });
        let start = ticks.load(Ordering::Relaxed);
        let w = a.put_object(put.clone(), body.clone()).await.unwrap();
        let r = a
            .get_object(
                get.clone(),
                Bytes::from(w.envelope_bytes.clone()),
                w.sealed.clone(),
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.body.len(), body.len());
        let during = ticks.load(Ordering::Relaxed) - start;
        // Streams: the body goes in as chunks, the sealed bytes come out as chunks.
        let chunks: Vec<Bytes> = body.chunks(1 << 20).map(Bytes::copy_from_slice).collect();
        let (sealed, done) = a.put_object_stream(put, futures::stream::iter(chunks));
        let sealed: Vec<Bytes> = sealed.map(Result::unwrap).collect().await;
        let env = done.await.unwrap().unwrap().envelope_bytes;
        let (plain, done) =
            a.get_object_stream(get, Bytes::from(env), futures::stream::iter(sealed));
        let plain: Vec<Bytes> = plain.map(Result::unwrap).collect().await;
        done.await.unwrap().unwrap();
        assert_eq!(plain.concat().len(), body.len());
        ticker.abort();
        assert!(
            during >= 3,
            "the runtime's only thread was blocked: {during} ticks"
        );
    });
}
