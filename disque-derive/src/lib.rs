//! `#[derive(Job)]` and `#[derive(JobSet)]` for the [`disque`] crate; use them
//! through `disque::Job` and `disque::JobSet`.
//!
//! [`disque`]: https://docs.rs/disque-client

mod ast;
mod attr;
mod ctxt;
mod duration;
mod expand;
mod jobset;
mod krate;
mod shape;
mod valid;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

// The examples need `disque`, which depends on this crate: they run as doc
// tests of `disque` (`derive_docs` in disque/src/lib.rs), so this crate's own
// doc-test run (`cargo test --doc`, which ignores `doctest = false`) leaves
// the text out.
#[cfg_attr(not(doctest), doc = include_str!("job.md"))]
#[proc_macro_derive(Job, attributes(job))]
pub fn derive_job(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    krate::apply(&input.attrs, "job", false, expand::derive(&input)).into()
}

#[cfg_attr(not(doctest), doc = include_str!("job_set.md"))]
#[proc_macro_derive(JobSet, attributes(job_set))]
pub fn derive_job_set(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    krate::apply(&input.attrs, "job_set", true, jobset::derive(&input)).into()
}
