//! Images, the OCI way: content-addressed blobs, manifests, configs and layer tarballs in an
//! OCI image layout, each layer unpacked once and shared by every image that has it.
//!
//! - [`reference`]: `python:3.11-slim` → `docker.io/library/python:3.11-slim`
//! - [`digest`]: `sha256:…`, computed while bytes stream
//! - [`oci`]: the JSON documents
//! - [`unpack`]: layer tarballs unpacked so nothing lands outside the layer
//! - [`pack`]: a read-write layer packed into a layer tarball (build, commit)
//! - [`store`]: the on-disk store, `import`, `load`, `tag`, `rmi`
//! - [`lease`]: the images a running build uses, kept from `rmi`
//! - [`check`]: `system check`: blobs, layers and images against the store
//! - [`whiteout`]: deletions, as `.wh.` names on the wire and overlay's on disk

pub mod check;
pub mod digest;
pub mod lease;
pub mod oci;
pub mod pack;
pub mod reference;
pub mod store;
pub mod unpack;
pub mod whiteout;

pub use digest::{Digest, Hashing};
pub use reference::Reference;
pub use store::{Image, Store};
