//! The declaration of a job type as written: name, generic parameter names,
//! fields with their type tokens (whitespace removed), variants for enums.
//! The run-time fingerprint hashes it only when the type's serde shape
//! cannot be traced (its `Deserialize` refuses placeholder values).
//!
//! `struct Email{to:String,cc:Vec<String>}`, `enum Op{Add(u32),Clear}`.

use crate::ast::{Data, Input, Style};
use quote::ToTokens;
use syn::{Field, GenericParam};

/// The canonical declaration string of `input`.
pub fn canonical(input: &Input) -> String {
    let mut out = String::new();
    match &input.data {
        Data::Struct(fields, style) => {
            out.push_str("struct ");
            out.push_str(&input.ident.to_string());
            generics(input, &mut out);
            body(fields, *style, &mut out);
        }
        Data::Enum(variants) => {
            out.push_str("enum ");
            out.push_str(&input.ident.to_string());
            generics(input, &mut out);
            out.push('{');
            for (i, variant) in variants.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&variant.ident.to_string());
                let fields: Vec<&Field> = variant.fields.iter().collect();
                body(&fields, Style::of(&variant.fields), &mut out);
            }
            out.push('}');
        }
        Data::Union(_) => out.push_str("union"),
    }
    out
}

fn generics(input: &Input, out: &mut String) {
    let names: Vec<String> = input
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(t) => Some(t.ident.to_string()),
            GenericParam::Const(c) => Some(format!("const {}", c.ident)),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    if !names.is_empty() {
        out.push('<');
        out.push_str(&names.join(","));
        out.push('>');
    }
}

fn body(fields: &[&Field], style: Style, out: &mut String) {
    let (open, close) = match style {
        Style::Named => ('{', '}'),
        Style::Tuple => ('(', ')'),
        Style::Unit => return,
    };
    out.push(open);
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if let Some(name) = &field.ident {
            out.push_str(&name.to_string());
            out.push(':');
        }
        let ty: String = field
            .ty
            .to_token_stream()
            .to_string()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push_str(&ty);
    }
    out.push(close);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(source: &str, _version: u32) -> String {
        let input: syn::DeriveInput = syn::parse_str(source).unwrap();
        canonical(&Input::from_syn(&input))
    }

    #[test]
    fn structs() {
        assert_eq!(
            shape("struct Email { to: String, cc: Vec < String > }", 1),
            "struct Email{to:String,cc:Vec<String>}"
        );
        assert_eq!(
            shape("struct P(u32, (u8, i8));", 2),
            "struct P(u32,(u8,i8))"
        );
        assert_eq!(shape("struct U;", 1), "struct U");
    }

    #[test]
    fn enums_and_generics() {
        assert_eq!(
            shape(
                "enum Op<T, const N: usize> { Add(T), Set { at: [u8; N] }, Clear }",
                1
            ),
            "enum Op<T,const N>{Add(T),Set{at:[u8;N]},Clear}"
        );
    }

    #[test]
    fn field_names_and_types_matter() {
        assert_ne!(
            shape("struct A { x: u32 }", 1),
            shape("struct A { y: u32 }", 1)
        );
        assert_ne!(
            shape("struct A { x: u32 }", 1),
            shape("struct A { x: u64 }", 1)
        );
        assert_ne!(
            shape("struct A { x: u32 }", 1),
            shape("struct B { x: u32 }", 1)
        );
        assert_ne!(shape("struct A(u32);", 1), shape("enum A { V(u32) }", 1));
    }
}
