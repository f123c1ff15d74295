//! Generates the `Job` impl (or a stand-in impl next to the errors).

use crate::{
    ast::{Data, Input},
    attr,
    ctxt::Errors,
    shape,
    valid::{self, Model},
};
use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, GenericParam, Generics};

/// `#[derive(Job)]`.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let input = Input::from_syn(input);
    let mut errors = Errors::default();
    let attrs = attr::parse(input.attrs, &mut errors);
    let model = valid::check(&input, attrs, &mut errors);
    match (errors.finish(), model) {
        (Ok(()), Some(model)) => wrap(job_impl(&input, &model)),
        (result, _) => {
            let errors = result.err().map(|e| e.to_compile_error());
            // A stand-in impl keeps uses of the type's `Job` items from
            // cascading into trait-bound errors; a union cannot be a job at all.
            // Nor can a type that borrows: its one error says so.
            let borrows = input
                .generics
                .params
                .iter()
                .any(|p| matches!(p, GenericParam::Lifetime(_)));
            let stand_in = match input.data {
                Data::Union(_) => None,
                _ if borrows => None,
                _ => Some(wrap(stand_in_impl(&input))),
            };
            quote!(#errors #stand_in)
        }
    }
}

fn wrap(items: TokenStream) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications, clippy::all)]
        const _: () = { #items };
    }
}

/// `impl … Job for … where …`, generics and their bounds included.
fn header(input: &Input) -> TokenStream {
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    if has_params(input.generics) {
        predicates.push(quote! {
            Self: ::disque::__private::serde::Serialize
                + ::disque::__private::serde::de::DeserializeOwned
                + ::core::marker::Send
                + ::core::marker::Sync
                + 'static
        });
    }
    quote! {
        #[automatically_derived]
        impl #impl_generics ::disque::__private::Job for #ident #ty_generics
        where #(#predicates,)*
    }
}

fn has_params(generics: &Generics) -> bool {
    generics
        .params
        .iter()
        .any(|p| !matches!(p, GenericParam::Lifetime(_)))
}

fn job_impl(input: &Input, model: &Model) -> TokenStream {
    let Model {
        queue,
        instances,
        priority,
        options,
        codec,
        version,
        accept,
    } = model;
    let codec = match codec {
        Some(codec) => quote!(#codec),
        None => quote!(::disque::__private::Bincode),
    };
    let mut setters = Vec::new();
    let secs = |n: u64| quote!(::disque::__private::Duration::from_secs(#n));
    if let Some(n) = options.replicate {
        setters.push(quote!(.replicate(#n)));
    }
    if let Some(s) = options.delay_secs {
        let d = secs(s);
        setters.push(quote!(.delay(#d)));
    }
    if let Some(s) = options.retry_secs {
        let d = secs(s);
        setters.push(quote!(.retry(#d)));
    }
    if let Some(s) = options.ttl_secs {
        let d = secs(s);
        setters.push(quote!(.ttl(#d)));
    }
    if let Some(n) = options.maxlen {
        setters.push(quote!(.maxlen(#n)));
    }
    if let Some(on) = options.asynchronous {
        setters.push(quote!(.asynchronous(#on)));
    }
    if let Some(ms) = options.timeout_ms {
        setters.push(quote!(.replication_timeout(::disque::__private::Duration::from_millis(#ms))));
    }
    // The declaration stands in for the traced serde shape when that cannot
    // be traced (see `disque::Job::fingerprint`).
    let declaration = shape::canonical(input);
    let body = |queue: &str| {
        quote! {
            const QUEUE: &'static str = #queue;
            const PRIORITY: i64 = #priority;
            const ACCEPTED_FINGERPRINTS: &'static [u64] = &[#(#accept),*];
            const VERSION: u32 = #version;
            const DECLARATION: &'static str = #declaration;
            type Codec = #codec;
            fn options() -> ::disque::__private::JobOptions {
                ::disque::__private::JobOptions::new() #(#setters)*
            }
        }
    };
    if instances.is_empty() {
        let header = header(input);
        let body = body(queue);
        return quote!(#header { #body });
    }
    // A generic type: one impl per instantiation, each with its own queue.
    let impls = instances.iter().map(|(ty, queue)| {
        let body = body(queue);
        quote! {
            #[automatically_derived]
            impl ::disque::__private::Job for #ty { #body }
        }
    });
    quote!(#(#impls)*)
}

fn stand_in_impl(input: &Input) -> TokenStream {
    let header = header(input);
    quote! {
        #header {
            const QUEUE: &'static str = "";
            const PRIORITY: i64 = 0;
            type Codec = ::disque::__private::Bincode;
            fn options() -> ::disque::__private::JobOptions {
                ::disque::__private::JobOptions::new()
            }
        }
    }
}
