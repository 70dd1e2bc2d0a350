//! Streamed and concurrent part uploads through the public API, as a server runs them:
//! `upload_part_stream` (sealed bytes to a writer, bounded memory) beside `upload_part`, parts
//! sealed from one state and recorded one at a time, `list_parts` naming the upload of each
//! number the state recorded, and a body that fails mid-way.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::collections::HashMap;
use std::io::Read;

use http::{HeaderMap, HeaderValue};
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{CompletedPart, EngineBuilder, EngineConfig, EngineError, Request};

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i % 251).to_le_bytes()[0]
                .wrapping_mul(31)
                .wrapping_add(seed)
        })
        .collect()
}

/// A body that yields `n` bytes, then fails (a client that went away).
struct Broken(usize);

impl Read for Broken {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "gone",
            ));
        }
        let n = self.0.min(buf.len());
        buf[..n].fill(7);
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn streamed_and_concurrent_parts_complete_into_the_right_object() {
    let dir = tempfile::tempdir().unwrap();
    let engine = EngineBuilder::local(dir.path())
        .unwrap()
        .threads(2)
        .config(EngineConfig {
            min_part_size: 5 << 20,
            ..EngineConfig::default()
        })
        .build()
        .unwrap();
    let bucket = BucketPolicy::new("b", BucketKind::GeneralPurpose, "000000000000", "us-east-1");
    for sse in ["AES256", "aws:kms", "aws:kms:dsse"] {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-server-side-encryption",
            HeaderValue::from_static(sse),
        );
        let req = Request {
            bucket: &bucket,
            key: "k",
            headers: &h,
            secure_transport: true,
        };
        let up = engine.create_multipart_upload(&req).unwrap();
        // UploadPart and CompleteMultipartUpload carry no SSE headers (S3 refuses them there).
        let none = HeaderMap::new();
        let req = Request {
            headers: &none,
            ..req
        };
        let (d1, d2, d2b) = (data(6 << 20, 1), data(1234, 2), data(999, 3));
        // Part 1 streamed, part 2 twice (a retry) from the same state, sealed concurrently.
        let mut s1 = Vec::new();
        let p1 = engine
            .upload_part_stream(&req, &up.state, 1, &d1[..], &mut s1)
            .unwrap();
        assert!(p1.sealed.is_empty());
        assert_eq!(&s1[..p1.header.len()], &p1.header[..]);
        let p2 = engine.upload_part(&req, &up.state, 2, &d2).unwrap();
        let mut s2b = Vec::new();
        let p2b = engine
            .upload_part_stream(&req, &up.state, 2, &d2b[..], &mut s2b)
            .unwrap();
        assert_ne!(
            p2.upload_tag, p2b.upload_tag,
            "{sse}: each upload of a number has its tag"
        );
        // The backend keeps each upload under its tag and records them one at a time.
        let mut kept = HashMap::new();
        kept.insert(p1.upload_tag.clone(), s1);
        kept.insert(p2.upload_tag.clone(), p2.sealed.to_vec());
        kept.insert(p2b.upload_tag.clone(), s2b);
        let mut state = up.state.clone();
        for p in [&p1, &p2, &p2b] {
            state = engine.record_part(&req, &state, p).unwrap();
        }
        let listed = engine.list_parts(&req, &state).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].upload_tag, p1.upload_tag);
        assert_eq!(
            listed[1].upload_tag, p2b.upload_tag,
            "{sse}: the last recorded wins"
        );
        assert_eq!((listed[0].size, listed[1].size), (6 << 20, 999));
        assert_eq!(listed[1].etag, p2b.etag);
        // The stale upload of part 2 cannot complete; the latest can.
        let stale = [
            CompletedPart {
                part_number: 1,
                etag: p1.etag.clone(),
            },
            CompletedPart {
                part_number: 2,
                etag: p2.etag.clone(),
            },
        ];
        assert!(matches!(
            engine.complete_multipart_upload(&req, &state, &stale),
            Err(EngineError::InvalidPart)
        ));
        let parts = [
            CompletedPart {
                part_number: 1,
                etag: listed[0].etag.clone(),
            },
            CompletedPart {
                part_number: 2,
                etag: listed[1].etag.clone(),
            },
        ];
        let done = engine
            .complete_multipart_upload(&req, &state, &parts)
            .unwrap();
        let sealed: Vec<u8> = listed
            .iter()
            .flat_map(|p| kept[&p.upload_tag].clone())
            .collect();
        let got = engine
            .get_object(&req, &done.envelope_bytes, &sealed, None)
            .unwrap();
        assert_eq!(got.body, [d1.clone(), d2b.clone()].concat(), "{sse}");

        // A body cut off mid-way: IncompleteBody (a 400), never a part.
        let r = engine.upload_part_stream(&req, &state, 3, Broken(3 << 20), std::io::sink());
        assert!(
            matches!(r, Err(EngineError::IncompleteBody(_))),
            "{sse}: {r:?}"
        );
    }
}
