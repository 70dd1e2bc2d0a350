//! Differential: a streaming `Decryptor` accepts exactly what `open_part` accepts, with the same
//! plaintext; when it fails it has released only whole, authenticated non-final chunks.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use s3seal_fuzz::{CONTEXT, data_key};
use s3seal_gcm::{Decryptor, Header, PartNumber, open_part};

fuzz_target!(|input: (u8, &[u8])| {
    let (batch, data) = input;
    let whole = open_part(&data_key(), CONTEXT, PartNumber::SINGLE, data);
    let mut streamed = Vec::new();
    let result = Decryptor::new(data, &data_key(), CONTEXT, PartNumber::SINGLE)
        .map(|d| d.with_batch(usize::from(batch % 4) + 1))
        .and_then(|mut d| {
            d.read_to_end(&mut streamed)
                .map_err(|e| e.into())
                .map(|_| ())
        });
    match (&whole, result) {
        (Ok(plaintext), Ok(())) => assert_eq!(plaintext[..], streamed[..]),
        (Err(_), Err(_)) => {
            let chunk = Header::read(data).map_or(usize::MAX, |h| h.chunk_size.bytes());
            assert!(streamed.is_empty() || streamed.len() % chunk == 0);
        }
        (whole, streamed) => panic!("open_part {whole:?} but Decryptor {streamed:?}"),
    }
});
