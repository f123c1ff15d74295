//! `#[derive(JobSet)]`: an enum whose variants each hold one `Delivery<J>`.

use crate::{
    ast::{Data, Input},
    ctxt::Errors,
};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{spanned::Spanned, DeriveInput, GenericArgument, Ident, PathArguments, Type};

/// One variant: its name, the job type it holds, and its field's name if named.
struct Member<'a> {
    variant: &'a Ident,
    job: &'a Type,
    field: Option<&'a Ident>,
}

/// `#[derive(JobSet)]`.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let input = Input::from_syn(input);
    let mut errors = Errors::default();
    let members = members(&input, &mut errors);
    match errors.finish() {
        Ok(()) => expand(&input, &members),
        Err(error) => {
            // A stand-in impl keeps `consume_set::<ThisType>()` and friends
            // from adding trait-bound errors to the real ones.
            let errors = error.to_compile_error();
            let stand_in = match input.data {
                Data::Union(_) => None,
                _ => Some(stand_in(&input)),
            };
            quote!(#errors #stand_in)
        }
    }
}

fn members<'a>(input: &Input<'a>, errors: &mut Errors) -> Vec<Member<'a>> {
    let variants = match &input.data {
        Data::Enum(variants) => variants,
        _ => {
            errors.error_at(
                input.ident.span(),
                "#[derive(JobSet)] needs an enum whose variants each hold one `Delivery<J>`, \
                 e.g. `enum Work { Email(Delivery<SendEmail>) }`",
            );
            return Vec::new();
        }
    };
    if variants.is_empty() {
        errors.error_at(
            input.ident.span(),
            "#[derive(JobSet)] needs at least one variant holding a `Delivery<J>`",
        );
    }
    let mut members = Vec::new();
    for variant in variants {
        let fields: Vec<_> = variant.fields.iter().collect();
        let [field] = fields.as_slice() else {
            errors.error_at(
                variant.span(),
                format!(
                    "variant `{}` must hold exactly one `Delivery<J>`, e.g. `{}(Delivery<MyJob>)`",
                    variant.ident, variant.ident
                ),
            );
            continue;
        };
        match delivered_job(&field.ty) {
            Some(job) => members.push(Member {
                variant: &variant.ident,
                job,
                field: field.ident.as_ref(),
            }),
            None => errors.push(syn::Error::new_spanned(
                &field.ty,
                "expected `Delivery<J>` where `J` is a job type (`#[derive(Job)]`)",
            )),
        }
    }
    members
}

/// `J` in a type written `Delivery<J>` (any path ending in `Delivery`).
fn delivered_job(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Delivery" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut args = args.args.iter();
    match (args.next(), args.next()) {
        (Some(GenericArgument::Type(job)), None) => Some(job),
        _ => None,
    }
}

/// `impl … JobSet for … where …`, with the bounds generics need.
fn header(input: &Input, members: &[Member]) -> TokenStream {
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    if !input.generics.params.is_empty() {
        predicates.push(quote!(Self: ::core::marker::Send + 'static));
        for member in members {
            let job = member.job;
            predicates.push(quote!(#job: ::disque::__private::Job));
        }
    }
    quote! {
        #[automatically_derived]
        impl #impl_generics ::disque::__private::JobSet for #ident #ty_generics
        where #(#predicates,)*
    }
}

fn stand_in(input: &Input) -> TokenStream {
    let header = header(input, &[]);
    let name = input.ident.to_string();
    quote! {
        #[doc(hidden)]
        #[allow(unused_qualifications, clippy::all)]
        const _: () = {
            #header {
                fn queues() -> ::disque::__private::Vec<&'static str> {
                    ::disque::__private::Vec::new()
                }
                fn from_delivery(
                    delivery: ::disque::__private::Delivery<::disque::__private::Vec<u8>>,
                ) -> ::core::result::Result<Self, ::disque::__private::Error> {
                    ::core::result::Result::Err(::disque::__private::foreign_queue(
                        #name,
                        &delivery,
                        &[],
                    ))
                }
            }
        };
    }
}

fn expand(input: &Input, members: &[Member]) -> TokenStream {
    let ident = input.ident;
    let name = ident.to_string();
    let header = header(input, members);
    let generic = !input.generics.params.is_empty();
    let as_job = |job: &Type| quote_spanned!(job.span()=> <#job as ::disque::__private::Job>);
    let priorities = members.iter().map(|m| {
        let job = as_job(m.job);
        quote!((#job::PRIORITY, #job::QUEUE))
    });
    let queues: Vec<TokenStream> = members
        .iter()
        .map(|m| {
            let job = as_job(m.job);
            quote!(#job::QUEUE)
        })
        .collect();
    let arms = members.iter().map(|m| {
        let job = as_job(m.job);
        let ty = m.job;
        let variant = m.variant;
        let build = match m.field {
            Some(field) => quote!(|delivery| #ident::#variant { #field: delivery }),
            None => quote!(#ident::#variant),
        };
        quote! {
            if delivery.queue() == #job::QUEUE {
                return delivery.decode::<#ty>().map(#build);
            }
        }
    });
    // Two members on one queue could not be told apart: refuse at compile time
    // (only possible when the member types are known, i.e. without generics).
    let mut distinct = Vec::new();
    if !generic {
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                let message = format!(
                    "#[derive(JobSet)] on `{name}`: variants `{}` and `{}` take jobs from the \
                     same queue, so a delivery could not be told apart",
                    a.variant, b.variant
                );
                let (qa, qb) = (as_job(a.job), as_job(b.job));
                distinct.push(quote! {
                    const _: () = if ::disque::__private::same_str(#qa::QUEUE, #qb::QUEUE) {
                        ::core::panic!(#message)
                    };
                });
            }
        }
    }
    quote! {
        #[doc(hidden)]
        #[allow(unused_qualifications, clippy::all)]
        const _: () = {
            #(#distinct)*
            #header {
                fn queues() -> ::disque::__private::Vec<&'static str> {
                    ::disque::__private::queues_by_priority(&[#(#priorities),*])
                }
                fn from_delivery(
                    delivery: ::disque::__private::Delivery<::disque::__private::Vec<u8>>,
                ) -> ::core::result::Result<Self, ::disque::__private::Error> {
                    #(#arms)*
                    ::core::result::Result::Err(::disque::__private::foreign_queue(
                        #name,
                        &delivery,
                        &[#(#queues),*],
                    ))
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(source: &str) -> Vec<String> {
        let input: syn::DeriveInput = syn::parse_str(source).unwrap();
        let input = Input::from_syn(&input);
        let mut errors = Errors::default();
        members(&input, &mut errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepted_shapes() {
        assert!(errors_of("enum W { A(Delivery<A>), B { job: disque::Delivery<B> } }").is_empty());
    }

    #[test]
    fn refused_shapes() {
        assert!(
            errors_of("struct W(Delivery<A>);")[0].starts_with("#[derive(JobSet)] needs an enum")
        );
        assert!(errors_of("enum W {}")[0].starts_with("#[derive(JobSet)] needs at least one"));
        let errors = errors_of(
            "enum W { A, B(Delivery<B>, u8), C(Vec<C>), D(Delivery), E(Delivery<E, F>) }",
        );
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[0].starts_with("variant `A` must hold exactly one"));
        assert!(errors[1].starts_with("variant `B` must hold exactly one"));
        assert!(errors[2].starts_with("expected `Delivery<J>`"));
    }
}
