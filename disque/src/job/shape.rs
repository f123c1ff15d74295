//! The deep shape of a job type: the serde data model reachable from it,
//! traced once per type with `serde-reflection` through the type's own
//! `Deserialize` impl (no derive needed on nested types), and hashed.
//!
//! What is traced is what serde sees: container names (after `rename`),
//! field names and their order, variant names and their order, primitive
//! widths, options, sequences, maps, tuples and fixed arrays, nested all the
//! way down. Generic parameters are traced as the types they are
//! instantiated with. Not traced: Rust paths, doc comments, derive order,
//! methods, visibility, anything serde does not see.

use std::any::TypeId;
use std::collections::{BTreeSet, HashMap};
use std::sync::{OnceLock, RwLock};

use serde::de::DeserializeOwned;
use serde_reflection::{Error as TraceError, Tracer, TracerConfig};

use super::payload::{fingerprint, fingerprint_extend};

/// The result of tracing one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Traced {
    /// The hash of the canonical description of the shape.
    Shape(u64),
    /// The type needs a self-describing format (`deserialize_any`: untagged
    /// or internally tagged enums, `flatten`, …): the text says which call.
    NeedsSelfDescribing(String),
    /// The type's `Deserialize` refused the placeholder values the tracer
    /// offers (say, a string that must parse as a date): the text says why.
    Untraceable(String),
}

/// A value per type, made on the first call for each type and kept for the
/// life of the process. (A `static` in a generic function is shared by all
/// its instantiations, hence the map keyed by type.)
pub(crate) type PerType<V> = OnceLock<RwLock<HashMap<TypeId, &'static V>>>;

/// The value `cache` holds for type `key`, made with `make` if it has none.
pub(crate) fn per_type<V: Send + Sync + 'static>(
    cache: &'static PerType<V>,
    key: TypeId,
    make: impl FnOnce() -> V,
) -> &'static V {
    let cache = cache.get_or_init(Default::default);
    if let Some(found) = cache.read().ok().and_then(|map| map.get(&key).copied()) {
        return found;
    }
    let made = make();
    let mut map = match cache.write() {
        Ok(map) => map,
        // A panic while holding the lock cannot leave the map half-written
        // (one insert); go on with it.
        Err(poisoned) => poisoned.into_inner(),
    };
    map.entry(key).or_insert_with(|| Box::leak(Box::new(made)))
}

/// The traced shape of `T`, computed on the first call for each type and
/// kept for the life of the process.
pub(crate) fn traced<T: DeserializeOwned + 'static>() -> &'static Traced {
    static CACHE: PerType<Traced> = OnceLock::new();
    per_type(&CACHE, TypeId::of::<T>(), trace::<T>)
}

/// Traces `T` (uncached).
///
/// serde-reflection explores the variants of the root enum pass after pass,
/// but a nested enum stays at its first variant while it is marked
/// incomplete. So: trace, learn the nested enums left incomplete from the
/// registry's refusal, and trace again on a fresh tracer, clearing their
/// marks after every pass until no pass leaves any of them incomplete.
pub(crate) fn trace<T: DeserializeOwned>() -> Traced {
    let mut nested: BTreeSet<String> = BTreeSet::new();
    let (root, registry) = 'attempts: loop {
        let mut tracer = Tracer::new(TracerConfig::default());
        let mut root = None;
        for _ in 0..MAX_PASSES {
            match tracer.trace_simple_type::<T>() {
                Ok((format, _samples)) => root = Some(format),
                Err(e) => return classify(e),
            }
            let mut pending = false;
            for name in &nested {
                pending |= tracer.check_incomplete_enum(name).is_some();
            }
            if !pending {
                break;
            }
        }
        match (root, tracer.registry()) {
            (Some(root), Ok(registry)) => break 'attempts (root, registry),
            (_, Err(TraceError::MissingVariants(names))) => {
                let known = nested.len();
                nested.extend(names);
                if nested.len() == known {
                    return Traced::Untraceable(format!(
                        "enums {nested:?} not traced whole in {MAX_PASSES} passes"
                    ));
                }
            }
            (_, Err(e)) => return classify(e),
            (None, Ok(_)) => return Traced::Untraceable("nothing traced".to_owned()),
        }
    };
    // Canonical text: the root format, then every container by name
    // (a BTreeMap: sorted). `Debug` of serde-reflection's format types is
    // plain data (names, lists, maps), fixed by the pinned 0.6 line.
    let mut hash = fingerprint("disque-shape-1");
    hash = fingerprint_extend(hash, &format!("{root:?}"));
    for (name, container) in &registry {
        hash = fingerprint_extend(hash, name);
        hash = fingerprint_extend(hash, &format!("{container:?}"));
    }
    Traced::Shape(hash)
}

/// The most passes on one tracer: enough for nested enums of up to this many variants.
const MAX_PASSES: usize = 4096;

fn classify(error: TraceError) -> Traced {
    match error {
        TraceError::NotSupported(call) => Traced::NeedsSelfDescribing(call.to_owned()),
        other => Traced::Untraceable(other.to_string()),
    }
}

#[cfg(test)]
#[allow(dead_code)] // the types are only traced, never read
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;

    fn shape<T: DeserializeOwned>() -> u64 {
        match trace::<T>() {
            Traced::Shape(h) => h,
            other => panic!("{other:?}"),
        }
    }

    mod a {
        #[derive(serde::Deserialize)]
        pub struct Dims {
            pub w: u32,
            pub h: u32,
        }
        #[derive(serde::Deserialize)]
        pub struct Job {
            pub dims: Dims,
        }
    }
    mod b {
        #[derive(serde::Deserialize)]
        pub struct Dims {
            pub h: u32,
            pub w: u32,
        }
        #[derive(serde::Deserialize)]
        pub struct Job {
            pub dims: Dims,
        }
    }
    mod c {
        /// Docs, another derive order and a method change nothing.
        #[derive(Debug, serde::Deserialize, Clone)]
        pub struct Dims {
            /// width
            pub w: u32,
            pub h: u32,
        }
        impl Dims {
            #[allow(dead_code)]
            fn area(&self) -> u32 {
                self.w * self.h
            }
        }
        #[derive(serde::Deserialize)]
        pub struct Job {
            pub dims: Dims,
        }
    }

    #[test]
    fn nested_field_order_matters_docs_do_not() {
        assert_ne!(shape::<a::Job>(), shape::<b::Job>());
        assert_eq!(shape::<a::Job>(), shape::<c::Job>());
    }

    #[derive(Deserialize)]
    enum E1 {
        A,
        B(u8),
    }
    #[derive(Deserialize)]
    enum E2 {
        B(u8),
        A,
    }
    #[derive(Deserialize)]
    #[serde(rename = "E1")]
    enum E3 {
        A,
        B(u8),
        C,
    }

    #[test]
    fn enum_variants_and_their_order_matter() {
        assert_ne!(shape::<E1>(), shape::<E2>());
        assert_ne!(shape::<E1>(), shape::<E3>());
    }

    #[derive(Deserialize)]
    struct HoldsE1 {
        e: E1,
        again: Option<E1>,
    }
    #[derive(Deserialize)]
    struct HoldsE3 {
        e: E3,
        again: Option<E3>,
    }

    #[derive(Deserialize)]
    #[serde(rename = "E1")]
    enum E4 {
        A,
        B(u8),
        C(u16),
    }
    #[derive(Deserialize)]
    struct HoldsE4 {
        e: E4,
        again: Option<E4>,
    }

    #[test]
    fn nested_enums_are_traced_whole() {
        assert_ne!(shape::<HoldsE1>(), shape::<HoldsE3>());
        // The last variant's payload is traced too.
        assert_ne!(shape::<HoldsE3>(), shape::<HoldsE4>());
    }

    #[test]
    fn widths_options_sequences_maps_tuples() {
        let all = [
            shape::<u32>(),
            shape::<u64>(),
            shape::<Option<u32>>(),
            shape::<Vec<u32>>(),
            shape::<Vec<u64>>(),
            shape::<BTreeMap<String, u32>>(),
            shape::<(u32, u32)>(),
            shape::<(u32, u32, u32)>(),
            shape::<(u64, u32)>(),
            shape::<String>(),
        ];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Untagged {
        A(u32),
    }

    #[derive(Deserialize)]
    struct Addr(std::net::SocketAddr);

    /// `NonZeroU32` refuses the tracer's placeholder 0.
    #[derive(Deserialize)]
    struct Count(std::num::NonZeroU32);

    #[test]
    fn arrays_are_tuples_to_serde_so_to_the_fingerprint() {
        // serde writes `[T; N]` as an N-tuple: the bytes are the same.
        assert_eq!(shape::<[u32; 3]>(), shape::<(u32, u32, u32)>());
    }

    #[test]
    fn self_describing_needs_and_untraceable_types_are_told_apart() {
        assert!(matches!(
            trace::<Untagged>(),
            Traced::NeedsSelfDescribing(_)
        ));
        // Not human-readable: a SocketAddr is an enum of tuples, traceable.
        assert!(matches!(trace::<Addr>(), Traced::Shape(_)));
        let count = trace::<Count>();
        assert!(matches!(count, Traced::Untraceable(_)), "{count:?}");
    }

    #[test]
    fn cached_per_type() {
        let first: *const Traced = traced::<a::Job>();
        let again: *const Traced = traced::<a::Job>();
        assert_eq!(first, again);
        assert_ne!(traced::<a::Job>(), traced::<b::Job>());
    }

    #[test]
    fn per_type_makes_each_value_once() {
        static CACHE: PerType<u32> = OnceLock::new();
        let made = std::cell::Cell::new(0);
        let make = |v: u32| {
            made.set(made.get() + 1);
            v
        };
        assert_eq!(*per_type(&CACHE, TypeId::of::<u8>(), || make(8)), 8);
        assert_eq!(*per_type(&CACHE, TypeId::of::<u8>(), || make(9)), 8);
        assert_eq!(*per_type(&CACHE, TypeId::of::<u16>(), || make(16)), 16);
        assert_eq!(made.get(), 2);
    }
}
