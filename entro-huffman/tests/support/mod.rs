//! Shared fixtures for the integration tests.

pub(crate) mod checkpoint;
