//! Seals a file (or 64 MiB of generated data) as one sealed part, opens it again, checks the
//! round trip and prints sizes and throughput. The data key lives only in memory.
//!
//! `cargo run --release -p s3seal-gcm --example seal_file -- [FILE]`

use std::time::Instant;

use s3seal_gcm::{ChunkSize, DataKey, PartNumber, open_part, seal_part};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = match std::env::args().nth(1) {
        Some(path) => std::fs::read(path)?,
        None => (0..64u32 << 20).map(|i| (i % 251) as u8).collect(),
    };
    let key = DataKey::generate()?;
    let context = b"arn:aws:s3:::example-bucket/example-object";
    let t = Instant::now();
    let sealed = seal_part(&key, context, PartNumber::SINGLE, ChunkSize::DEFAULT, &data)?;
    let seal_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let opened = open_part(&key, context, PartNumber::SINGLE, &sealed)?;
    let open_s = t.elapsed().as_secs_f64();
    if opened[..] != data[..] {
        return Err("round trip mismatch".into());
    }
    let gb = data.len() as f64 / 1e9;
    println!(
        "{} plaintext bytes -> {} sealed bytes; seal {:.2} GB/s, open {:.2} GB/s on {} rayon threads ({})",
        data.len(),
        sealed.len(),
        gb / seal_s,
        gb / open_s,
        rayon::current_num_threads(),
        s3seal_gcm::BackendKind::detect().name(),
    );
    Ok(())
}
