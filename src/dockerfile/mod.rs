//! Dockerfiles: the parser (being written).
