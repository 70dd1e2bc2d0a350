//! Test support (cargo feature `testing`, off by default): [`FaultyKms`], a fault-injecting
//! wrapper, and [`conformance`], the test suite every [`Kms`](crate::Kms) implementation
//! must pass.

pub mod conformance;
mod faulty;
#[cfg(feature = "aws")]
pub mod moto;

pub use faulty::{FaultConfig, FaultStats, FaultyKms};
