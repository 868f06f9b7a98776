//! Registries: the OCI distribution API (being written).
