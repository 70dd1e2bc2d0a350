//! Any SSE request headers, over any bucket kind and operation: `SseHeaders::parse`,
//! `resolve_write` and `resolve_read` never panic and never answer with a 5xx.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal_fuzz::{RequestInput, resolve};
use s3seal_policy::SseHeaders;

fuzz_target!(|input: RequestInput| {
    if let Err(e) = SseHeaders::parse(&input.header_map(), input.secure) {
        assert!(e.s3().status.as_u16() < 500, "{e:?}");
    }
    if let Some(e) = resolve(&input) {
        assert!(e.s3().status.as_u16() < 500, "{e:?}");
    }
});
