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
