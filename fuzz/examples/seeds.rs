//! Writes seed inputs into `fuzz/corpus/<target>/`: valid sealed parts under the fixture keys
//! (the fuzzer cannot forge a key commitment or a tag on its own), a layer record, bucket
//! configurations, key ids and contexts. Seeds are regenerated, not committed (salts are random).
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds`

use std::fs;
use std::path::PathBuf;

use s3seal_fuzz::{BUCKET_CONFIGS, CONTEXT, KEY_ARN, SEED_LENGTHS, data_key, dsse_keys};
use s3seal_gcm::{ChunkSize, HEADER_LEN, PartNumber};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let put = |target: &str, name: String, bytes: &[u8]| -> std::io::Result<()> {
        let dir = root.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(format!("seed-{name}")), bytes)
    };
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
        put("open_part", format!("{len}"), &sealed)?;
        put(
            "stream_decryptor",
            format!("{len}"),
            &[&[0u8][..], &sealed].concat(),
        )?;
        put("sealed_header", format!("{len}"), &sealed[..HEADER_LEN])?;
        let dual = s3seal_dsse::seal_part(
            &dsse,
            CONTEXT,
            PartNumber::SINGLE,
            ChunkSize::MIN,
            &plaintext,
        )?;
        put("dsse_open", format!("{len}"), &dual)?;
    }
    put("dsse_record", "0".into(), &dsse.record().to_bytes()?)?;
    for (i, xml) in BUCKET_CONFIGS.iter().enumerate() {
        put("bucket_xml", format!("{i}"), xml.as_bytes())?;
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
        put("kms_key_id", format!("{i}"), id.as_bytes())?;
    }
    for (i, json) in [
        r#"{}"#,
        r#"{"aws:s3:arn":"arn:aws:s3:::b/k","a":"\u00e9\n"}"#,
    ]
    .iter()
    .enumerate()
    {
        put("kms_context", format!("{i}"), json.as_bytes())?;
    }
    Ok(())
}
