//! Dockerfiles: parsing them the way Docker does, and expanding their variables.
//!
//! [`parse`] turns the text into [`Instruction`]s — directives, comments, line continuations,
//! exec/shell forms and flags handled — without interpreting arguments: variables are expanded
//! by the builder with [`expand`] and [`words`], when their values are known. [`dump`] prints
//! the result in the format of BuildKit's parser tests, which `tests/dockerfile_corpus.rs`
//! checks against BuildKit's own corpus.

mod dump;
pub mod heredoc;
mod lines;
mod parser;
mod shell;
mod tokens;

pub use dump::{dump, dump_instruction, go_quote};
pub use heredoc::Heredoc;
pub use lines::Directives;
pub use parser::{parse, Dockerfile, Instruction, KeyValue, ParseError, KEYWORDS};
pub use shell::{expand, expand_heredoc, lookup_in, words, Lookup};
