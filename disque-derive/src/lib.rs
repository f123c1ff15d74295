//! `#[derive(Job)]` for the `disque` crate.

use proc_macro::TokenStream;

/// Derives `disque::Job`.
#[proc_macro_derive(Job, attributes(job))]
pub fn derive_job(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
