//! Parses `#[job(…)]` attributes into [`Attrs`]: syntax and literal types only
//! (values are checked in `valid.rs`). Every mistake is recorded and parsing
//! goes on, so all of them are reported together.

use crate::{
    ctxt::Errors,
    duration::{self, Precision},
};
use proc_macro2::TokenStream;
use quote::ToTokens;
use std::time::Duration;
use syn::{
    meta::ParseNestedMeta, spanned::Spanned, Attribute, Expr, ExprLit, ExprUnary, Lit, LitStr,
    Token, Type, UnOp,
};

/// Every key, in the order the error message lists them.
pub const KEYS: &str = "queue, queues, priority, replicate, delay, retry, ttl, maxlen, async, \
                        timeout, codec, version, accept, crate";

/// A value and the tokens it was written as (for errors pointing at it).
pub struct Setting<T> {
    pub value: T,
    pub tokens: TokenStream,
}

impl<T> Setting<T> {
    fn new(value: T, tokens: impl ToTokens) -> Self {
        Setting {
            value,
            tokens: tokens.into_token_stream(),
        }
    }

    /// An error pointing at the value.
    pub fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        syn::Error::new_spanned(&self.tokens, message)
    }
}

/// What the `#[job(…)]` attributes say, as written.
#[derive(Default)]
pub struct Attrs {
    pub queue: Option<Setting<String>>,
    pub priority: Option<Setting<i128>>,
    pub replicate: Option<Setting<i128>>,
    pub delay: Option<Setting<Duration>>,
    pub retry: Option<Setting<Duration>>,
    pub ttl: Option<Setting<Duration>>,
    pub maxlen: Option<Setting<i128>>,
    pub asynchronous: Option<Setting<bool>>,
    pub timeout: Option<Setting<Duration>>,
    pub codec: Option<Setting<Type>>,
    pub version: Option<Setting<i128>>,
    pub accept: Option<Setting<Vec<Fingerprint>>>,
    /// `queues(Type = "queue", …)`: one queue per instantiation of a generic type.
    pub queues: Option<Setting<Instances>>,
    /// The keys met so far (a key is a duplicate even if its first value was bad).
    seen: Vec<String>,
}

/// Parses every `#[job(…)]` attribute in `attrs`.
pub fn parse(attrs: &[Attribute], errors: &mut Errors) -> Attrs {
    let mut out = Attrs::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("job")) {
        if let Err(error) = attr.parse_nested_meta(|meta| out.parse_key(&meta, errors)) {
            errors.push(error);
        }
    }
    out
}

impl Attrs {
    /// Whether `key` was written, whatever its value.
    pub fn has_key(&self, key: &str) -> bool {
        self.seen.iter().any(|seen| seen == key)
    }

    fn parse_key(&mut self, meta: &ParseNestedMeta, errors: &mut Errors) -> syn::Result<()> {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let path = &meta.path;
        let duplicate = KEYS.split(", ").any(|known| known == key) && self.seen.contains(&key);
        if duplicate {
            errors.push(syn::Error::new_spanned(
                path,
                format!("duplicate key `{key}` in #[job(…)]"),
            ));
        }
        self.seen.push(key.clone());
        let errors = &mut Sink { errors, duplicate };
        match key.as_str() {
            "queue" => {
                let value = string(&value_expr(meta)?, "queue");
                store(&mut self.queue, value, errors);
            }
            "priority" => {
                let value = integer(&value_expr(meta)?, "priority", "10");
                store(&mut self.priority, value, errors);
            }
            "replicate" => {
                let value = integer(&value_expr(meta)?, "replicate", "2");
                store(&mut self.replicate, value, errors);
            }
            "maxlen" => {
                let value = integer(&value_expr(meta)?, "maxlen", "1000");
                store(&mut self.maxlen, value, errors);
            }
            "version" => {
                let value = integer(&value_expr(meta)?, "version", "2");
                store(&mut self.version, value, errors);
            }
            "delay" | "retry" | "ttl" | "timeout" => {
                let precision = match key.as_str() {
                    "timeout" => Precision::Millis,
                    _ => Precision::Seconds,
                };
                let value = duration(&value_expr(meta)?, &key, precision);
                let slot = match key.as_str() {
                    "delay" => &mut self.delay,
                    "retry" => &mut self.retry,
                    "ttl" => &mut self.ttl,
                    _ => &mut self.timeout,
                };
                store(slot, value, errors);
            }
            "async" => {
                let value = if meta.input.peek(Token![=]) {
                    boolean(&value_expr(meta)?)
                } else {
                    Ok(Setting::new(true, path))
                };
                store(&mut self.asynchronous, value, errors);
            }
            "codec" => {
                let input = meta.value()?;
                let value = if input.peek(LitStr) {
                    let text: LitStr = input.parse()?;
                    Err(syn::Error::new_spanned(
                        &text,
                        "`codec` takes a type, not a string: write e.g. \
                         `codec = disque::Json`",
                    ))
                } else {
                    let codec: Type = input.parse()?;
                    Ok(Setting::new(codec.clone(), codec))
                };
                store(&mut self.codec, value, errors);
            }
            "accept" => {
                let value = fingerprints(&value_expr(meta)?);
                store(&mut self.accept, value, errors);
            }
            "queues" => {
                let value = instances(meta);
                store(&mut self.queues, value, errors);
            }
            // `crate = path` is read and applied by `krate.rs`.
            "crate" => skip_value(meta)?,
            _ => {
                errors.push(syn::Error::new_spanned(
                    path,
                    format!(
                        "unknown key `{}` in #[job(…)]; expected one of: {KEYS}",
                        path.to_token_stream().to_string().replace(' ', "")
                    ),
                ));
                skip_value(meta)?;
            }
        }
        Ok(())
    }
}

/// Where the value of the key being parsed goes.
struct Sink<'a> {
    errors: &'a mut Errors,
    /// The key was met before: its value is checked but not kept.
    duplicate: bool,
}

impl Sink<'_> {
    fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }
}

/// Records `value` in `slot` (unless the key is a duplicate), or the reason it cannot be.
fn store<T>(slot: &mut Option<Setting<T>>, value: syn::Result<Setting<T>>, sink: &mut Sink) {
    match value {
        Ok(value) if !sink.duplicate => *slot = Some(value),
        Ok(_) => {}
        Err(error) => sink.push(error),
    }
}

/// The expression after `key =`.
fn value_expr(meta: &ParseNestedMeta) -> syn::Result<Expr> {
    meta.value()?.parse()
}

/// Consumes whatever follows an unknown key (`= expr` or `(…)`), so that the
/// keys after it are still checked.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        value_expr(meta).map(drop)
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>().map(drop)
    } else {
        Ok(())
    }
}

/// What kind of literal or expression `expr` is, for "found …" messages.
fn describe(expr: &Expr) -> &'static str {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Str(_) => "a string",
            Lit::Int(_) => "an integer",
            Lit::Float(_) => "a float",
            Lit::Bool(_) => "a boolean",
            Lit::Char(_) => "a character",
            Lit::Byte(_) | Lit::ByteStr(_) | Lit::CStr(_) => "a byte literal",
            _ => "a literal",
        },
        Expr::Unary(_) => "an expression",
        Expr::Path(_) => "a path",
        _ => "an expression",
    }
}

fn string(expr: &Expr, key: &str) -> syn::Result<Setting<String>> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Ok(Setting::new(text.value(), text)),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!(
                "expected a string for `{key}`, found {}: write e.g. `{key} = \"emails\"`",
                describe(expr)
            ),
        )),
    }
}

fn integer(expr: &Expr, key: &str, example: &str) -> syn::Result<Setting<i128>> {
    let negative_literal = match expr {
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr: inner,
            ..
        }) => match &**inner {
            Expr::Lit(ExprLit {
                lit: Lit::Int(int), ..
            }) => Some(int),
            _ => None,
        },
        _ => None,
    };
    let (int, sign) = match (expr, negative_literal) {
        (_, Some(int)) => (int, -1),
        (
            Expr::Lit(ExprLit {
                lit: Lit::Int(int), ..
            }),
            None,
        ) => (int, 1),
        _ => {
            return Err(syn::Error::new_spanned(
                expr,
                format!(
                    "expected an integer for `{key}`, found {}: write e.g. `{key} = {example}`",
                    describe(expr)
                ),
            ))
        }
    };
    let magnitude: i128 = int
        .base10_parse()
        .map_err(|_| syn::Error::new_spanned(expr, format!("`{key}` is out of range")))?;
    Ok(Setting::new(sign * magnitude, expr))
}

fn duration(expr: &Expr, key: &str, precision: Precision) -> syn::Result<Setting<Duration>> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => duration::parse(&text.value(), precision)
            .map(|value| Setting::new(value, text))
            .map_err(|reason| syn::Error::new(text.span(), format!("`{key}`: {reason}"))),
        _ => {
            Err(syn::Error::new_spanned(
                expr,
                format!(
                "expected a duration string for `{key}`, found {}: write e.g. `{key} = \"30s\"` \
                 (units: {}s, m, h, d)",
                describe(expr),
                if precision == Precision::Millis { "ms, " } else { "" }
            ),
            ))
        }
    }
}

fn boolean(expr: &Expr) -> syn::Result<Setting<bool>> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(on), ..
        }) => Ok(Setting::new(on.value, on)),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!(
                "expected `true` or `false` for `async`, found {}: write `async` or `async = false`",
                describe(expr)
            ),
        )),
    }
}

/// A fingerprint in `accept`: a literal, or a path to a `u64` constant.
pub enum Fingerprint {
    Literal(u64),
    Const(syn::ExprPath),
}

impl ToTokens for Fingerprint {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Fingerprint::Literal(n) => n.to_tokens(tokens),
            Fingerprint::Const(path) => path.to_tokens(tokens),
        }
    }
}

/// `queues(Resize<u8> = "resize-u8", Resize<f32> = "resize-f32")`.
/// Instantiations of a generic job type and their queues, as written.
pub type Instances = Vec<(Type, Setting<String>)>;

fn instances(meta: &ParseNestedMeta) -> syn::Result<Setting<Instances>> {
    let example = "write e.g. `queues(Resize<u8> = \"resize-u8\", Resize<f32> = \"resize-f32\")`";
    if !meta.input.peek(syn::token::Paren) {
        skip_value(meta)?;
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!("`queues` takes a list of instantiations and their queues: {example}"),
        ));
    }
    let content;
    let parens = syn::parenthesized!(content in meta.input);
    let mut out = Vec::new();
    while !content.is_empty() {
        let ty: Type = content.parse()?;
        content.parse::<Token![=]>()?;
        let queue: Expr = content.parse()?;
        out.push((ty, string(&queue, "queues")?));
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    if out.is_empty() {
        return Err(syn::Error::new(
            parens.span.join(),
            format!("`queues` lists no instantiation: {example}"),
        ));
    }
    Ok(Setting::new(out, &meta.path))
}

fn fingerprints(expr: &Expr) -> syn::Result<Setting<Vec<Fingerprint>>> {
    let Expr::Array(array) = expr else {
        return Err(syn::Error::new_spanned(
            expr,
            format!(
                "expected a list of fingerprints for `accept`, found {}: \
                 write e.g. `accept = [0x0123456789abcdef]`",
                describe(expr)
            ),
        ));
    };
    let mut values = Vec::with_capacity(array.elems.len());
    for elem in &array.elems {
        match elem {
            Expr::Lit(ExprLit {
                lit: Lit::Int(int), ..
            }) => values.push(Fingerprint::Literal(int.base10_parse::<u64>().map_err(
                |_| syn::Error::new(int.span(), "a fingerprint is a 64-bit unsigned integer"),
            )?)),
            Expr::Path(path) => values.push(Fingerprint::Const(path.clone())),
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    format!(
                        "expected a fingerprint (an integer such as 0x0123456789abcdef, or the \
                         path of a `u64` constant), found {}",
                        describe(other)
                    ),
                ))
            }
        }
    }
    Ok(Setting::new(values, array))
}
