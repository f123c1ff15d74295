//! Borrowed views over the derive input.

use syn::{Attribute, Data as SynData, DeriveInput, Field, Generics, Ident, Variant};

/// What `#[derive(Job)]` / `#[derive(JobSet)]` was applied to.
pub struct Input<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    pub attrs: &'a [Attribute],
    pub data: Data<'a>,
}

/// The body of the type.
pub enum Data<'a> {
    /// A struct: its fields (named, unnamed or none).
    Struct(Vec<&'a Field>, Style),
    /// An enum: its variants.
    Enum(Vec<&'a Variant>),
    /// A union (refused), with the span of its `union` keyword.
    Union(proc_macro2::Span),
}

/// How fields are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Named,
    Tuple,
    Unit,
}

impl Style {
    pub fn of(fields: &syn::Fields) -> Style {
        match fields {
            syn::Fields::Named(_) => Style::Named,
            syn::Fields::Unnamed(_) => Style::Tuple,
            syn::Fields::Unit => Style::Unit,
        }
    }
}

impl<'a> Input<'a> {
    pub fn from_syn(input: &'a DeriveInput) -> Self {
        let data = match &input.data {
            SynData::Struct(data) => {
                Data::Struct(data.fields.iter().collect(), Style::of(&data.fields))
            }
            SynData::Enum(data) => Data::Enum(data.variants.iter().collect()),
            SynData::Union(data) => Data::Union(data.union_token.span),
        };
        Input {
            ident: &input.ident,
            generics: &input.generics,
            attrs: &input.attrs,
            data,
        }
    }
}
