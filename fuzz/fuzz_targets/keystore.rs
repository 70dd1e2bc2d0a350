//! LocalKms `keystore.json` and `keystore.generation` under the testkit root secret. The check: `s3seal_fuzz_checks::keystore`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| s3seal_fuzz_checks::keystore(data));
