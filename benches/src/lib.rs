//! Shared helpers for the s3seal criterion benchmarks (see `benches/README.md`).
