//! Building images from Dockerfiles (being written).

pub mod context;
pub mod ignore;
