//! Semantic checks of a `#[derive(Job)]` input: values and combinations
//! Disque would refuse become compile errors at the offending token.

use crate::{
    ast::{Data, Input},
    attr::{Attrs, Setting},
    ctxt::Errors,
};
use std::time::Duration;
use syn::Type;

/// Disque's default TTL (one day), which DELAY and RETRY are checked against
/// when `ttl` is not given.
pub const DEFAULT_TTL_SECS: u64 = 86_400;

/// A job type's settings, checked.
pub struct Model {
    pub queue: String,
    pub priority: i64,
    pub options: Options,
    pub codec: Option<Type>,
    pub version: u32,
    pub accept: Vec<u64>,
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
    let queue = match &attrs.queue {
        // Present but invalid: already reported where it is written.
        None if attrs.has_key("queue") => String::new(),
        None => {
            fail(syn::Error::new(
                input.ident.span(),
                "missing job queue: add #[job(queue = \"…\")] to say which queue jobs of this type go to",
            ));
            String::new()
        }
        Some(queue) if queue.value.is_empty() => {
            fail(queue.error("the job queue name must not be empty"));
            String::new()
        }
        Some(queue) => queue.value.clone(),
    };
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
    if failed {
        return None;
    }
    Some(Model {
        queue,
        priority,
        options,
        codec: attrs.codec.map(|codec| codec.value),
        version,
        accept: attrs.accept.map(|accept| accept.value).unwrap_or_default(),
    })
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
        assert_eq!(model.accept, [16, 7]);
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
}
