//! `crate = path`: where the generated code finds the `disque` crate when it
//! is not `::disque` (a renamed dependency, a re-export), as serde's
//! `#[serde(crate = "…")]`.
//!
//! The expansions write every path into the crate as `::disque::…`; with
//! `crate = path`, each leading `::disque` of the expansion becomes `path`.
//! Keeping this a single pass over the output means the expansion code has
//! one spelling and cannot forget a path.

use proc_macro2::{Group, Ident, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Attribute, LitStr, Path};

/// The `crate = path` of the `#[name(…)]` attributes, if any. With
/// `only_crate`, any other key is an error (`#[job_set(…)]`); otherwise other
/// keys are left to their own parser (`#[job(…)]`).
fn path(attrs: &[Attribute], name: &str, only_crate: bool) -> syn::Result<Option<Path>> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident(name)) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let input = meta.value()?;
                if input.peek(LitStr) {
                    let text: LitStr = input.parse()?;
                    return Err(syn::Error::new_spanned(
                        text,
                        "`crate` takes a path, not a string: write e.g. `crate = my_disque`",
                    ));
                }
                let path: Path = input.parse()?;
                if only_crate && found.is_some() {
                    return Err(meta.error(format!("duplicate key `crate` in #[{name}(…)]")));
                }
                found = Some(path);
                Ok(())
            } else if only_crate {
                Err(meta.error(format!(
                    "unknown key `{}` in #[{name}(…)]; expected: crate",
                    meta.path.to_token_stream().to_string().replace(' ', "")
                )))
            } else {
                // Another key of #[job(…)], checked by `attr.rs`: skip it.
                if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::Expr>()?;
                } else if meta.input.peek(syn::token::Paren) {
                    meta.input.parse::<Group>()?;
                }
                Ok(())
            }
        })?;
    }
    Ok(found)
}

/// `expansion` with its `::disque` paths pointing at the `crate = path` of
/// the `#[name(…)]` attributes (unchanged without one); a bad `crate` value
/// is reported as a compile error beside it.
pub fn apply(
    attrs: &[Attribute],
    name: &str,
    only_crate: bool,
    expansion: TokenStream,
) -> TokenStream {
    match path(attrs, name, only_crate) {
        Ok(None) => expansion,
        Ok(Some(path)) => rewrite(expansion, &path.into_token_stream()),
        Err(error) => {
            let error = error.to_compile_error();
            quote::quote!(#error #expansion)
        }
    }
}

/// Keywords that may stand right before a leading `::` of a path
/// (`as ::disque::Job`, `impl ::disque::Job`); any other identifier there
/// is a path segment (`a::disque`), which is left alone.
const BEFORE_PATH: &[&str] = &[
    "as", "dyn", "impl", "for", "where", "in", "mut", "const", "static", "type", "let", "return",
    "break", "move", "ref", "unsafe", "pub", "fn", "use", "match", "if", "else", "while", "loop",
];

fn rewrite(tokens: TokenStream, krate: &TokenStream) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let leading = match out.last() {
            Some(TokenTree::Ident(prev)) => BEFORE_PATH.contains(&prev.to_string().as_str()),
            // `x: ::disque::T`, `<::disque::T>`, `(::disque::f)()`: a path starts.
            _ => true,
        };
        if leading && is_crate_path(&tokens[i..]) {
            out.extend(krate.clone());
            i += 3;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), rewrite(g.stream(), krate));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// `::disque` followed by more path (`::disque::…`).
fn is_crate_path(t: &[TokenTree]) -> bool {
    matches!(
        t,
        [TokenTree::Punct(a), TokenTree::Punct(b), TokenTree::Ident(id), TokenTree::Punct(c), ..]
            if a.as_char() == ':' && a.spacing() == Spacing::Joint
                && b.as_char() == ':'
                && *id == Ident::new("disque", id.span())
                && c.as_char() == ':'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn leading_disque_paths_are_rewritten_and_others_kept() {
        let krate = quote!(my::reexport);
        let out = rewrite(
            quote!(impl ::disque::__private::Job for T { fn f(x: ::disque::Y) -> <T as ::disque::Job>::X { a::disque::b(::disque::c) } }),
            &krate,
        );
        assert_eq!(
            out.to_string(),
            quote!(impl my::reexport::__private::Job for T { fn f(x: my::reexport::Y) -> <T as my::reexport::Job>::X { a::disque::b(my::reexport::c) } })
                .to_string()
        );
    }

    #[test]
    fn crate_key_is_read_among_the_others() {
        let attrs: Vec<Attribute> =
            vec![syn::parse_quote!(#[job(queue = "q", retry = "1s", crate = ::my::d, async)])];
        let found = path(&attrs, "job", false).unwrap().unwrap();
        assert_eq!(found.to_token_stream().to_string(), ":: my :: d");
        assert!(path(&attrs, "job_set", true).unwrap().is_none());
        let bad: Vec<Attribute> = vec![syn::parse_quote!(#[job_set(queue = "q")])];
        assert!(path(&bad, "job_set", true).is_err());
    }
}
