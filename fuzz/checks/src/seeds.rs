//! Seed inputs for every target: valid sealed parts, envelopes, manifests, upload states,
//! sealed files and keystores (the fuzzer cannot forge a MAC, a key commitment or a tag), the
//! golden files of `testkit/` for the targets that decode them, and configurations, key ids,
//! contexts, ranges. Structured targets (`Arbitrary` inputs) get a few fixed pseudo-random
//! inputs: every byte string decodes to a structure. `fuzz/examples/seeds.rs` writes them.

use std::error::Error;

use http::HeaderMap;
use s3seal::policy::{BucketKind, BucketPolicy};
use s3seal::{ManifestPart, ObjectEnvelope, PartNumber, Request};
use s3seal_cli::sealed_header::{FILE_BUCKET, FILE_KEY};
use s3seal_gcm::{ChunkSize, HEADER_LEN};

use crate::fixtures::{BUCKET_CONFIGS, CONTEXT, KEY_ARN, SEED_LENGTHS, data_key, dsse_keys};
use crate::home::{ACCOUNT, SSE_C_KEY, engine, sse_c_headers, testkit};

/// One seed: target, file name (without the `seed-` prefix), bytes.
pub type Seed = (&'static str, String, Vec<u8>);

/// Every seed.
///
/// # Errors
/// Sealing fails, or `testkit/` cannot be read.
pub fn seeds() -> Result<Vec<Seed>, Box<dyn Error>> {
    let mut out: Vec<Seed> = Vec::new();
    first_targets(&mut out)?;
    objects(&mut out)?;
    golden(&mut out)?;
    for (i, (len, value)) in [
        (10u64, "bytes=0-4"),
        (10, "bytes=5-"),
        (10, "bytes=-3"),
        (10, "bytes=9-99999999999999999999"),
        (0, "bytes=0-0"),
        (1 << 40, "bytes=1099511627775-1099511627775"),
    ]
    .iter()
    .enumerate()
    {
        out.push((
            "range_header",
            i.to_string(),
            [&len.to_le_bytes()[..], value.as_bytes()].concat(),
        ));
    }
    // Structured inputs: any bytes decode; a fixed xorshift stream of a few lengths.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for target in ["gateway_request", "differential", "roundtrip"] {
        for (i, len) in [16usize, 64, 256, 1024].iter().enumerate() {
            let bytes = (0..*len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x.to_le_bytes()[0]
                })
                .collect();
            out.push((target, i.to_string(), bytes));
        }
    }
    Ok(out)
}

/// The seeds of the first ten targets (sealed parts under the fixture keys, a layer record,
/// bucket configurations, key ids, contexts).
fn first_targets(out: &mut Vec<Seed>) -> Result<(), Box<dyn Error>> {
    let dsse = dsse_keys();
    for len in SEED_LENGTHS {
        let plaintext: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let sealed = s3seal_gcm::seal_part(
            &data_key(),
            CONTEXT,
            PartNumber::SINGLE,
            ChunkSize::MIN,
            &plaintext,
        )?;
        out.push(("open_part", format!("{len}"), sealed.to_vec()));
        out.push((
            "stream_decryptor",
            format!("{len}"),
            [&[0u8][..], &sealed].concat(),
        ));
        out.push((
            "sealed_header",
            format!("{len}"),
            sealed[..HEADER_LEN].to_vec(),
        ));
        let dual = s3seal_dsse::seal_part(
            &dsse,
            CONTEXT,
            PartNumber::SINGLE,
            ChunkSize::MIN,
            &plaintext,
        )?;
        out.push(("dsse_open", format!("{len}"), dual.to_vec()));
    }
    out.push(("dsse_record", "0".into(), dsse.record().to_bytes()?));
    for (i, xml) in BUCKET_CONFIGS.iter().enumerate() {
        out.push(("bucket_xml", format!("{i}"), xml.as_bytes().to_vec()));
    }
    for (i, id) in [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        KEY_ARN,
        "alias/aws/s3",
        "arn:aws:kms:us-east-1:111122223333:alias/fuzz",
    ]
    .iter()
    .enumerate()
    {
        out.push(("kms_key_id", format!("{i}"), id.as_bytes().to_vec()));
    }
    for (i, json) in [
        r#"{}"#,
        r#"{"aws:s3:arn":"arn:aws:s3:::b/k","a":"\u00e9\n"}"#,
    ]
    .iter()
    .enumerate()
    {
        out.push(("kms_context", format!("{i}"), json.as_bytes().to_vec()));
    }
    Ok(())
}

/// Envelopes, manifests, upload states and a sealed file written by the engine over the
/// testkit keystore.
fn objects(out: &mut Vec<Seed>) -> Result<(), Box<dyn Error>> {
    let e = engine(12, 1);
    let plaintext: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let general = BucketPolicy::new(
        "fuzz-bucket",
        BucketKind::GeneralPurpose,
        ACCOUNT,
        "us-east-1",
    );
    let fsx = BucketPolicy::new("fuzz-fsx", BucketKind::FsxAccessPoint, ACCOUNT, "us-east-1");
    let none = HeaderMap::new();
    let mut kms = HeaderMap::new();
    kms.insert(
        s3seal::policy::headers::names::SSE,
        http::HeaderValue::from_static("aws:kms"),
    );
    let sse_c = sse_c_headers(&[0x42; 32]);
    for (name, bucket, headers) in [
        ("sse_s3", &general, &none),
        ("sse_kms", &general, &kms),
        ("sse_c", &general, &sse_c),
        ("fsx", &fsx, &none),
    ] {
        let req = Request {
            bucket,
            key: "fuzz/object",
            headers,
            secure_transport: true,
        };
        if let Err(err) = object_seeds(&e, &req, name, &plaintext, out) {
            return Err(format!("seeding {name}: {err:?}").into());
        }
    }
    let manifest = |parts: &[(u32, u64)]| -> Result<Vec<u8>, Box<dyn Error>> {
        let mut env = crate::envelope::manifest_frame_envelope();
        env.parts = parts
            .iter()
            .map(|&(n, size)| {
                Ok(ManifestPart {
                    number: PartNumber::new(n)?,
                    size,
                    digest: [n as u8; 16],
                })
            })
            .collect::<Result<_, Box<dyn Error>>>()?;
        env.plaintext_len = parts.iter().map(|p| p.1).sum();
        let bytes = env.to_bytes()?;
        let (prefix, suffix) = crate::envelope::manifest_frame();
        Ok(bytes[prefix.len()..bytes.len() - suffix.len()].to_vec())
    };
    out.push(("manifest", "single".into(), manifest(&[])?));
    out.push((
        "manifest",
        "two".into(),
        manifest(&[(1, 5 << 20), (2, 17)])?,
    ));
    out.push((
        "manifest",
        "edges".into(),
        manifest(&[(1, 0), (9999, 1), (10_000, u64::MAX - 1)])?,
    ));
    // A sealed file as `s3seal encrypt --sse-c-key-file testkit/sse_c.key` writes it.
    let file_bucket = BucketPolicy::new(
        FILE_BUCKET,
        BucketKind::GeneralPurpose,
        ACCOUNT,
        "us-east-1",
    );
    let headers = sse_c_headers(SSE_C_KEY);
    let req = Request {
        bucket: &file_bucket,
        key: FILE_KEY,
        headers: &headers,
        secure_transport: true,
    };
    let w = e.put_object(&req, &plaintext[..3000])?;
    let header = s3seal_cli::sealed_header::header(w.envelope_bytes.len())?;
    out.push((
        "sealed_file",
        "sse_c".into(),
        [&header[..], &w.envelope_bytes, &w.sealed].concat(),
    ));
    // Version 2: the envelope padded so the sealed bytes start at 4096, as `s3seal encrypt`
    // writes a file.
    let room = 4096 - s3seal_cli::sealed_header::HEADER_LEN - w.envelope_bytes.len();
    let padded = s3seal_cli::sealed_header::prefix(&w.envelope_bytes, u32::try_from(room)?)?;
    out.push((
        "sealed_file",
        "sse_c_padded".into(),
        [&padded[..], &w.sealed].concat(),
    ));
    let _ = ObjectEnvelope::from_bytes(&w.envelope_bytes)?;
    Ok(())
}

/// An object written whole and by a multipart upload, and the upload's states.
fn object_seeds(
    e: &s3seal::Engine,
    req: &Request<'_>,
    name: &str,
    plaintext: &[u8],
    out: &mut Vec<Seed>,
) -> Result<(), s3seal::EngineError> {
    let w = e.put_object(req, plaintext)?;
    out.push(("envelope", name.to_owned(), w.envelope_bytes));
    let up = e.create_multipart_upload(req)?;
    out.push(("upload_state", format!("{name}-0"), up.state.clone()));
    // Parts and Complete take no managed SSE headers (only SSE-C keys).
    let none = HeaderMap::new();
    let part_req = Request {
        headers: if name == "sse_c" { req.headers } else { &none },
        ..*req
    };
    let req = &part_req;
    let p1 = e.upload_part(req, &up.state, 1, &plaintext[..5000])?;
    let p3 = e.upload_part(req, &p1.state, 3, &plaintext[5000..])?;
    out.push(("upload_state", format!("{name}-2"), p3.state.clone()));
    let done = e.complete_multipart_upload(
        req,
        &p3.state,
        &[
            s3seal::CompletedPart {
                part_number: 1,
                etag: p1.etag,
            },
            s3seal::CompletedPart {
                part_number: 3,
                etag: p3.etag,
            },
        ],
    )?;
    out.push(("envelope", format!("{name}-multipart"), done.envelope_bytes));
    Ok(())
}

/// The golden files of `testkit/` (see `testkit/MANIFEST`): envelopes, sealed files,
/// keystores and generation records.
fn golden(out: &mut Vec<Seed>) -> Result<(), Box<dyn Error>> {
    let dir = testkit();
    let mut names: Vec<_> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        let path = dir.join(&name);
        if path.is_dir() {
            for f in ["keystore.json", "keystore.generation"] {
                if let Ok(bytes) = std::fs::read(path.join(f)) {
                    out.push(("keystore", format!("golden-{name}-{f}"), bytes));
                }
            }
            if let Ok(raw) = std::fs::read(path.join("keystore.json"))
                && let Some(nl) = raw.iter().position(|&b| b == b'\n')
            {
                out.push((
                    "keystore",
                    format!("golden-{name}-body"),
                    raw[nl + 1..].to_vec(),
                ));
            }
        } else if name.ends_with(".envelope") {
            out.push(("envelope", format!("golden-{name}"), std::fs::read(&path)?));
        } else if name.ends_with(".s3sf") {
            out.push((
                "sealed_file",
                format!("golden-{name}"),
                std::fs::read(&path)?,
            ));
        } else if name.ends_with(".sealed") {
            let sealed = std::fs::read(&path)?;
            if sealed.len() >= HEADER_LEN {
                out.push((
                    "sealed_header",
                    format!("golden-{name}"),
                    sealed[..HEADER_LEN].to_vec(),
                ));
            }
        }
    }
    Ok(())
}
