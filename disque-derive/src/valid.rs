//! Semantic checks of a `#[derive(Job)]` input: values and combinations
//! Disque would refuse become compile errors at the offending token.

use crate::{
    ast::{Data, Input},
    attr::{Attrs, Fingerprint, Setting},
    ctxt::Errors,
};
use quote::ToTokens;
use std::time::Duration;
use syn::{GenericParam, Type};

/// Disque's default TTL (one day), which DELAY and RETRY are checked against
/// when `ttl` is not given.
pub const DEFAULT_TTL_SECS: u64 = 86_400;

/// A job type's settings, checked.
pub struct Model {
    /// The queue of a type without generic parameters.
    pub queue: String,
    /// The instantiations of a generic type and their queues.
    pub instances: Vec<(Type, String)>,
    pub priority: i64,
    pub options: Options,
    pub codec: Option<Type>,
    pub version: u32,
    pub accept: Vec<Fingerprint>,
}

/// The `ADDJOB` options of a job type; `None` leaves Disque's default.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct Options {
    pub replicate: Option<u16>,
    pub delay_secs: Option<u64>,
    pub retry_secs: Option<u64>,
    pub ttl_secs: Option<u64>,
    pub maxlen: Option<u32>,
    pub asynchronous: Option<bool>,
    pub timeout_ms: Option<u64>,
}

/// Checks `attrs` for `input`, recording every problem; `None` if there was any.
pub fn check(input: &Input, attrs: Attrs, errors: &mut Errors) -> Option<Model> {
    let mut failed = false;
    let mut fail = |error: syn::Error| {
        failed = true;
        errors.push(error);
    };
    if let Data::Union(span) = input.data {
        fail(syn::Error::new(
            span,
            "#[derive(Job)] needs a struct or an enum: a union cannot be a job payload",
        ));
    }
    for param in &input.generics.params {
        if let GenericParam::Lifetime(lifetime) = param {
            fail(syn::Error::new_spanned(
                lifetime,
                format!(
                    "a job must own its data: `{}` borrows, but a job is decoded from bytes \
                     into a value of its own; use owned types (`String`, not `&str`; \
                     `Vec<u8>`, not `&[u8]`) and remove the lifetime parameter",
                    lifetime.lifetime
                ),
            ));
        }
    }
    let generic = input
        .generics
        .params
        .iter()
        .any(|p| !matches!(p, GenericParam::Lifetime(_)));
    let name = input.ident.to_string();
    let queue = match (&attrs.queue, generic) {
        // Present but invalid: already reported where it is written.
        (None, _) if attrs.has_key("queue") => String::new(),
        (None, false) => {
            if let Some(queues) = &attrs.queues {
                fail(queues.error(format!(
                    "`queues` names one queue per instantiation of a generic job type; `{name}` \
                     has no type parameter: write #[job(queue = \"…\")]"
                )));
            } else if !attrs.has_key("queues") {
                fail(syn::Error::new(
                    input.ident.span(),
                    "missing job queue: add #[job(queue = \"…\")] to say which queue jobs of this type go to",
                ));
            }
            String::new()
        }
        (None, true) => {
            if attrs.queues.is_none() && !attrs.has_key("queues") {
                fail(syn::Error::new(
                    input.ident.span(),
                    format!(
                        "missing job queues: `{name}` is generic, so name a queue for each \
                         instantiation: #[job(queues({name}<u8> = \"…\", …))]"
                    ),
                ));
            }
            String::new()
        }
        (Some(queue), true) => {
            fail(queue.error(format!(
                "one queue for the generic job type `{name}` would be shared by all its \
                 instantiations, and each consumer would keep taking (and failing to decode) \
                 the others' jobs: name a queue per instantiation instead, e.g. \
                 #[job(queues({name}<u8> = \"{q}-u8\", {name}<f32> = \"{q}-f32\"))]",
                q = queue.value
            )));
            String::new()
        }
        (Some(queue), false) if queue.value.is_empty() => {
            fail(queue.error("the job queue name must not be empty"));
            String::new()
        }
        (Some(queue), false) => {
            if let Some(queues) = &attrs.queues {
                fail(queues.error(
                    "`queue` and `queues` together: keep `queue` (the type is not generic)",
                ));
            }
            queue.value.clone()
        }
    };
    let mut instances: Vec<(Type, String)> = Vec::new();
    if let (true, Some(queues)) = (generic, &attrs.queues) {
        for (ty, queue) in &queues.value {
            let same_type = match ty {
                Type::Path(path) => path
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| last.ident == *input.ident),
                _ => false,
            };
            if !same_type {
                fail(syn::Error::new_spanned(
                    ty,
                    format!("`queues` lists instantiations of `{name}`, such as `{name}<u8>`"),
                ));
            } else if queue.value.is_empty() {
                fail(queue.error("the job queue name must not be empty"));
            } else if instances.iter().any(|(_, q)| *q == queue.value) {
                fail(queue.error(format!(
                    "two instantiations of `{name}` on the queue \"{}\": each would keep taking \
                     the other's jobs; give each its own queue",
                    queue.value
                )));
            } else {
                instances.push((ty.clone(), queue.value.clone()));
            }
        }
    }
    let priority = in_range(
        &attrs.priority,
        i64::MIN,
        i64::MAX as u64,
        "`priority` must fit in an i64",
    )
    .unwrap_or_else(|e| {
        fail(e);
        None
    })
    .and_then(|n| i64::try_from(n).ok())
    .unwrap_or(0);
    let mut int = |setting: &Option<Setting<i128>>, max: u64, message: &str| {
        in_range(setting, 1, max, message).unwrap_or_else(|e| {
            fail(e);
            None
        })
    };
    let replicate = int(
        &attrs.replicate,
        65_535,
        "REPLICATE must be between 1 and 65535 (Disque refuses other values)",
    )
    .and_then(|n| u16::try_from(n).ok());
    let maxlen = int(
        &attrs.maxlen,
        u64::from(u32::MAX),
        "MAXLEN must be a positive number (at most 4294967295)",
    )
    .and_then(|n| u32::try_from(n).ok());
    let version = int(
        &attrs.version,
        u64::from(u32::MAX),
        "`version` must be between 1 and 4294967295 (1 is the version of a type without `version`)",
    )
    .and_then(|n| u32::try_from(n).ok())
    .unwrap_or(1);
    let secs = |setting: &Option<Setting<Duration>>| setting.as_ref().map(|s| s.value.as_secs());
    let options = Options {
        replicate,
        delay_secs: secs(&attrs.delay),
        retry_secs: secs(&attrs.retry),
        ttl_secs: secs(&attrs.ttl),
        maxlen,
        asynchronous: attrs.asynchronous.as_ref().map(|s| s.value),
        timeout_ms: attrs
            .timeout
            .as_ref()
            .map(|s| u64::try_from(s.value.as_millis()).unwrap_or(u64::MAX)),
    };
    for error in combinations(&attrs, &options) {
        fail(error);
    }
    let bincode = match &attrs.codec {
        None => true,
        Some(codec) => codec
            .value
            .to_token_stream()
            .to_string()
            .ends_with("Bincode"),
    };
    if bincode {
        for error in bincode_attributes(input) {
            fail(error);
        }
    }
    if failed {
        return None;
    }
    Some(Model {
        queue,
        instances,
        priority,
        options,
        codec: attrs.codec.map(|codec| codec.value),
        version,
        accept: attrs.accept.map(|accept| accept.value).unwrap_or_default(),
    })
}

/// The serde attributes on the job type itself that bincode cannot honour
/// (it is not self-describing: what serde does not write, or writes only
/// sometimes, cannot be read back), each an error at the attribute's key.
fn bincode_attributes(input: &Input) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    let mut check = |attrs: &[syn::Attribute], refused: &[&str]| {
        let keys = serde_keys(attrs);
        let has = |key: &str| keys.iter().any(|(k, _)| k == key);
        for (key, path) in &keys {
            let lone_skip = (key == "skip_serializing" && !has("skip_deserializing"))
                || (key == "skip_deserializing" && !has("skip_serializing"));
            if refused.contains(&key.as_str()) || lone_skip {
                let why = match key.as_str() {
                    "skip_serializing_if" | "skip_serializing" => {
                        "a field left out leaves no trace in bincode, so the consumer would \
                         read the next field in its place"
                    }
                    "skip_deserializing" => {
                        "the field is written but not read back, so the consumer would read \
                         it as the next field"
                    }
                    _ => "it needs a self-describing format (serde's `deserialize_any`)",
                };
                errors.push(syn::Error::new_spanned(
                    path,
                    format!(
                        "bincode (the default codec) cannot honour `#[serde({key})]`: {why}, \
                         and no consumer could decode such a job. Drop the attribute, or use \
                         a self-describing codec: #[job(codec = disque::Json)]"
                    ),
                ));
            }
        }
    };
    check(input.attrs, &["tag", "untagged", "content"]);
    let fields: Vec<&syn::Field> = match &input.data {
        Data::Struct(fields, _) => fields.clone(),
        Data::Enum(variants) => {
            for variant in variants {
                check(&variant.attrs, &["untagged"]);
            }
            variants.iter().flat_map(|v| v.fields.iter()).collect()
        }
        Data::Union(_) => Vec::new(),
    };
    for field in fields {
        check(&field.attrs, &["flatten", "skip_serializing_if"]);
    }
    errors
}

/// The keys of the `#[serde(…)]` attributes in `attrs`, with their paths
/// (values are skipped; what serde itself refuses is left to serde).
fn serde_keys(attrs: &[syn::Attribute]) -> Vec<(String, syn::Path)> {
    let mut keys = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(ident) = meta.path.get_ident() {
                keys.push((ident.to_string(), meta.path.clone()));
            }
            if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.input.parse::<proc_macro2::Group>()?;
            }
            Ok(())
        });
    }
    keys
}

/// `Ok(Some(n))` if `setting` is set and in `min..=max`.
fn in_range(
    setting: &Option<Setting<i128>>,
    min: i64,
    max: u64,
    message: &str,
) -> syn::Result<Option<i128>> {
    match setting {
        None => Ok(None),
        Some(s) if s.value >= i128::from(min) && s.value <= i128::from(max) => Ok(Some(s.value)),
        Some(s) => Err(s.error(format!("{message}; found {}", s.value))),
    }
}

/// Values and combinations of the time options Disque refuses (or that make
/// no sense), each reported at the token to change.
fn combinations(attrs: &Attrs, options: &Options) -> Vec<syn::Error> {
    let mut errors = Vec::new();
    let (ttl, ttl_origin) = match options.ttl_secs {
        Some(ttl) => (ttl, "`ttl`"),
        None => (DEFAULT_TTL_SECS, "the default TTL"),
    };
    if let (Some(setting), Some(0)) = (&attrs.ttl, options.ttl_secs) {
        errors.push(setting.error("TTL must be greater than zero (Disque refuses TTL 0)"));
    }
    if let (Some(setting), Some(retry)) = (&attrs.retry, options.retry_secs) {
        if retry == 0 && options.replicate != Some(1) {
            errors.push(setting.error(
                "RETRY 0 (at most once) needs `replicate = 1` set explicitly: Disque refuses \
                 RETRY 0 with REPLICATE > 1, and its default REPLICATE is up to 3",
            ));
        }
        if ttl > 0 && retry > ttl {
            errors.push(setting.error(format!(
                "RETRY ({retry}s) is longer than {ttl_origin} ({ttl}s): the job would expire before it is ever retried"
            )));
        }
    }
    if let (Some(setting), Some(delay)) = (&attrs.delay, options.delay_secs) {
        if ttl > 0 && delay >= ttl {
            errors.push(setting.error(format!(
                "DELAY ({delay}s) must be shorter than {ttl_origin} ({ttl}s): Disque refuses a job that would expire before it is queued"
            )));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ast::Input, attr};

    fn check_source(source: &str) -> Result<Model, Vec<String>> {
        let input: syn::DeriveInput = syn::parse_str(source).unwrap();
        let input = Input::from_syn(&input);
        let mut errors = Errors::default();
        let attrs = attr::parse(input.attrs, &mut errors);
        let model = check(&input, attrs, &mut errors);
        match errors.finish() {
            Ok(()) => Ok(model.unwrap()),
            Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    fn errors_of(source: &str) -> Vec<String> {
        match check_source(source) {
            Ok(_) => panic!("expected errors for {source}"),
            Err(errors) => errors,
        }
    }

    #[test]
    fn every_key() {
        let model = check_source(
            r#"#[job(queue = "q", priority = -5, replicate = 2, delay = "1m", retry = "30s",
                     ttl = "1h", maxlen = 10, async, timeout = "1500ms", version = 3,
                     accept = [0x10, 7], codec = my::Codec)]
               struct S;"#,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(model.queue, "q");
        assert_eq!(model.priority, -5);
        assert_eq!(model.version, 3);
        let accept: Vec<String> = model
            .accept
            .iter()
            .map(|f| f.to_token_stream().to_string())
            .collect();
        assert_eq!(accept, ["16u64", "7u64"]);
        assert!(model.codec.is_some());
        assert_eq!(
            model.options,
            Options {
                replicate: Some(2),
                delay_secs: Some(60),
                retry_secs: Some(30),
                ttl_secs: Some(3_600),
                maxlen: Some(10),
                asynchronous: Some(true),
                timeout_ms: Some(1_500),
            }
        );
    }

    #[test]
    fn defaults() {
        let model =
            check_source(r#"#[job(queue = "q")] enum E { A }"#).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(model.priority, 0);
        assert_eq!(model.version, 1);
        assert_eq!(model.options, Options::default());
        let model = check_source(r#"#[job(queue = "q", async = false)] struct S;"#)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(model.options.asynchronous, Some(false));
    }

    #[test]
    fn all_mistakes_reported_together() {
        let errors = errors_of(
            r#"#[job(queue = "", bogus = 1, priority = "high", replicate = 0, ttl = "0s",
                     maxlen = 0, priority = 2, delay = "soon")]
               struct S;"#,
        );
        assert_eq!(errors.len(), 8, "{errors:#?}");
        assert!(errors[0].starts_with("unknown key `bogus`"));
        assert!(errors[1].starts_with("expected an integer for `priority`, found a string"));
        assert_eq!(errors[2], "duplicate key `priority` in #[job(…)]");
        assert!(errors[3].starts_with("`delay`: expected a number at `soon`"));
        assert_eq!(errors[4], "the job queue name must not be empty");
        assert!(errors[5].starts_with("REPLICATE must be between 1 and 65535"));
        assert!(errors[6].starts_with("MAXLEN must be a positive number"));
        assert!(errors[7].starts_with("TTL must be greater than zero"));
    }

    #[test]
    fn invalid_queue_is_not_also_missing() {
        let errors = errors_of(r#"#[job(queue = 5)] struct S;"#);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("expected a string for `queue`"));
    }

    #[test]
    fn missing_queue_and_union() {
        let errors = errors_of("union U { a: u32 }");
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("#[derive(Job)] needs a struct or an enum"));
        assert!(errors[1].starts_with("missing job queue"));
    }

    #[test]
    fn ranges() {
        assert!(check_source(
            r#"#[job(queue = "q", replicate = 65535, maxlen = 4294967295)] struct S;"#
        )
        .is_ok());
        assert!(
            errors_of(r#"#[job(queue = "q", replicate = 65536)] struct S;"#)[0]
                .ends_with("found 65536")
        );
        assert!(
            errors_of(r#"#[job(queue = "q", replicate = -1)] struct S;"#)[0].ends_with("found -1")
        );
        assert!(
            errors_of(r#"#[job(queue = "q", maxlen = 4294967296)] struct S;"#)[0]
                .starts_with("MAXLEN")
        );
        assert!(
            errors_of(r#"#[job(queue = "q", version = 0)] struct S;"#)[0].starts_with("`version`")
        );
        assert!(
            errors_of(r#"#[job(queue = "q", priority = 9223372036854775808)] struct S;"#)[0]
                .starts_with("`priority` must fit")
        );
        let model =
            check_source(r#"#[job(queue = "q", priority = -9223372036854775808)] struct S;"#)
                .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(model.priority, i64::MIN);
    }

    #[test]
    fn ttl_zero() {
        let errors = errors_of(r#"#[job(queue = "q", ttl = "0s")] struct S;"#);
        assert_eq!(
            errors,
            ["TTL must be greater than zero (Disque refuses TTL 0)"]
        );
    }

    #[test]
    fn retry_zero_needs_explicit_replicate_one() {
        assert!(
            check_source(r#"#[job(queue = "q", retry = "0s", replicate = 1)] struct S;"#).is_ok()
        );
        for source in [
            r#"#[job(queue = "q", retry = "0s")] struct S;"#,
            r#"#[job(queue = "q", retry = "0s", replicate = 3)] struct S;"#,
        ] {
            assert!(
                errors_of(source)[0].starts_with("RETRY 0 (at most once) needs `replicate = 1`")
            );
        }
    }

    #[test]
    fn delay_must_be_shorter_than_ttl() {
        assert!(check_source(r#"#[job(queue = "q", delay = "23h")] struct S;"#).is_ok());
        assert!(
            check_source(r#"#[job(queue = "q", delay = "59s", ttl = "1m")] struct S;"#).is_ok()
        );
        assert_eq!(
            errors_of(r#"#[job(queue = "q", delay = "1d")] struct S;"#),
            ["DELAY (86400s) must be shorter than the default TTL (86400s): Disque refuses a job that would expire before it is queued"]
        );
        assert!(
            errors_of(r#"#[job(queue = "q", delay = "1m", ttl = "1m")] struct S;"#)[0]
                .starts_with("DELAY (60s) must be shorter than `ttl` (60s)")
        );
    }

    #[test]
    fn retry_must_not_exceed_ttl() {
        assert!(check_source(r#"#[job(queue = "q", retry = "1m", ttl = "1m")] struct S;"#).is_ok());
        assert!(
            errors_of(r#"#[job(queue = "q", retry = "2m", ttl = "1m")] struct S;"#)[0]
                .starts_with("RETRY (120s) is longer than `ttl` (60s)")
        );
        assert!(
            errors_of(r#"#[job(queue = "q", retry = "2d")] struct S;"#)[0]
                .starts_with("RETRY (172800s) is longer than the default TTL")
        );
    }

    #[test]
    fn literal_types() {
        for (source, start) in [
            (
                r#"#[job(queue = emails)] struct S;"#,
                "expected a string for `queue`, found a path",
            ),
            (
                r#"#[job(queue = "q", ttl = 30)] struct S;"#,
                "expected a duration string for `ttl`, found an integer",
            ),
            (
                r#"#[job(queue = "q", async = "yes")] struct S;"#,
                "expected `true` or `false` for `async`",
            ),
            (
                r#"#[job(queue = "q", codec = "json")] struct S;"#,
                "`codec` takes a type, not a string",
            ),
            (
                r#"#[job(queue = "q", accept = 5)] struct S;"#,
                "expected a list of fingerprints",
            ),
            (
                r#"#[job(queue = "q", accept = [-5])] struct S;"#,
                "expected a fingerprint",
            ),
            (
                r#"#[job(queue = "q", retry = "500ms")] struct S;"#,
                "`retry`: Disque counts this in whole seconds",
            ),
            (
                r#"#[job(queue = "q", priority = 1.5)] struct S;"#,
                "expected an integer for `priority`, found a float",
            ),
        ] {
            let errors = errors_of(source);
            assert!(errors[0].starts_with(start), "{source}: {errors:?}");
        }
    }

    #[test]
    fn unknown_keys_with_lists_do_not_stop_parsing() {
        let errors = errors_of(r#"#[job(queue = "q", nested(a, b), also, retry = 5)] struct S;"#);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("unknown key `nested`"));
        assert!(errors[1].starts_with("unknown key `also`"));
        assert!(errors[2].starts_with("expected a duration string for `retry`"));
    }

    #[test]
    fn keys_across_several_attributes() {
        let errors = errors_of(r#"#[job(queue = "a")] #[job(queue = "b")] struct S;"#);
        assert_eq!(errors, ["duplicate key `queue` in #[job(…)]"]);
    }

    #[test]
    fn a_lifetime_is_one_error_saying_jobs_own_their_data() {
        let errors = errors_of(r#"#[job(queue = "q")] struct A<'a> { s: &'a str }"#);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("a job must own its data: `'a` borrows"));
    }

    #[test]
    fn generic_types_name_a_queue_per_instantiation() {
        let model = check_source(
            r#"#[job(queues(R<u8> = "r-u8", R<f32> = "r-f32"))] struct R<P> { p: Vec<P> }"#,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let queues: Vec<&str> = model.instances.iter().map(|(_, q)| q.as_str()).collect();
        assert_eq!(queues, ["r-u8", "r-f32"]);
        for (source, start) in [
            (
                r#"#[job(queue = "r")] struct R<P> { p: P }"#,
                "one queue for the generic job type `R` would be shared",
            ),
            (
                r#"struct R<P> { p: P }"#,
                "missing job queues: `R` is generic",
            ),
            (
                r#"#[job(queues(R<u8> = "r", R<u16> = "r"))] struct R<P> { p: P }"#,
                "two instantiations of `R` on the queue \"r\"",
            ),
            (
                r#"#[job(queues(S<u8> = "r"))] struct R<P> { p: P }"#,
                "`queues` lists instantiations of `R`",
            ),
            (
                r#"#[job(queues(R = "r"))] struct R;"#,
                "`queues` names one queue per instantiation",
            ),
            (r#"#[job(queues)] struct R<P>(P);"#, "`queues` takes a list"),
        ] {
            let errors = errors_of(source);
            assert_eq!(errors.len(), 1, "{source}: {errors:?}");
            assert!(errors[0].starts_with(start), "{source}: {errors:?}");
        }
    }

    #[test]
    fn serde_attributes_bincode_cannot_honour() {
        let errors = errors_of(
            r#"#[job(queue = "q")]
               #[serde(tag = "type")]
               enum E {
                   A { #[serde(flatten)] inner: X },
                   #[serde(untagged)] B(u8),
                   C { #[serde(skip_serializing_if = "Option::is_none")] o: Option<u8> },
                   D { #[serde(skip_serializing)] s: u8, #[serde(skip)] fine: u8 },
               }"#,
        );
        let keys: Vec<&str> = errors
            .iter()
            .map(|e| e.split('`').nth(1).unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            [
                "#[serde(tag)]",
                "#[serde(untagged)]",
                "#[serde(flatten)]",
                "#[serde(skip_serializing_if)]",
                "#[serde(skip_serializing)]"
            ],
            "{errors:#?}"
        );
        assert!(errors[0].ends_with("use a self-describing codec: #[job(codec = disque::Json)]"));
        // The same type with JSON, or with both skips: fine.
        assert!(check_source(
            r#"#[job(queue = "q", codec = disque::Json)] #[serde(untagged)] enum E { A(u8) }"#
        )
        .is_ok());
        assert!(check_source(
            r#"#[job(queue = "q")] struct S { #[serde(skip_serializing, skip_deserializing, default)] a: u8 }"#
        )
        .is_ok());
    }

    #[test]
    fn accept_takes_const_paths() {
        let model = check_source(r#"#[job(queue = "q", accept = [OLD, v1::FP, 0x2])] struct S;"#)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let accept: Vec<String> = model
            .accept
            .iter()
            .map(|f| f.to_token_stream().to_string().replace(' ', ""))
            .collect();
        assert_eq!(accept, ["OLD", "v1::FP", "2u64"]);
    }
}
