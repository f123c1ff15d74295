//! The drift suite: a producer and a consumer built from different versions
//! of a job type. Every pair ends in a correct value (a change the bytes do
//! not see, or one serde accepts for a self-describing codec) or in
//! `Error::Decode` with the job still there — never in a wrong value.
//!
//! Each case sends the producer's payload to a queue of its own, takes it as
//! a raw delivery and decodes it as the consumer's type.

mod common;

use common::{unique_queue, Target};
use disque::{Client, Error, Job, JobState};
use std::fmt::Debug;

/// What a consumer must get from a producer's payload.
enum Expect<C> {
    /// This exact value.
    Value(C),
    /// A refusal whose reason contains this text; the job is kept.
    Refused(&'static str),
}

async fn drift<P: Job, C: Job + Debug + PartialEq>(
    client: &Client,
    case: &str,
    sent: P,
    expect: Expect<C>,
) {
    let queue = unique_queue(&format!("drift-{case}"));
    let body = disque::encode_payload(&sent).unwrap();
    let id = client.add(&body, &queue).await.unwrap();
    let raw = client.get(&[&queue]).await.unwrap().expect("just added");
    match (raw.decode::<C>(), expect) {
        (Ok(got), Expect::Value(want)) => {
            assert_eq!(got.value(), &want, "{case}");
            got.ack().await.unwrap();
        }
        (Err(Error::Decode(failure)), Expect::Refused(why)) => {
            assert_eq!(failure.id, id, "{case}");
            assert!(failure.reason.contains(why), "{case}: {}", failure.reason);
            assert_eq!(failure.body, body, "{case}");
            // Still there, active, for a consumer of the right type.
            let info = client.show(&id).await.unwrap().expect("the job is kept");
            assert_eq!(info.state, JobState::Active, "{case}");
            client.ack([&id]).await.unwrap();
        }
        (Ok(got), Expect::Refused(_)) => {
            panic!("{case}: decoded {:?} instead of refusing", got.value())
        }
        (Err(other), Expect::Value(want)) => {
            panic!("{case}: expected {want:?}, got {other:?}")
        }
        (Err(other), Expect::Refused(_)) => panic!("{case}: expected Decode, got {other:?}"),
    }
}

/// The refusal of a bincode payload of another shape.
const OTHER_SHAPE: &str = "has another shape (or version)";

macro_rules! job {
    ($(#[$m:meta])* struct $name:ident $($body:tt)*) => {
        #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
        #[job(queue = "disque-rs-drift")]
        $(#[$m])*
        pub struct $name $($body)*
    };
    ($(#[$m:meta])* enum $name:ident $($body:tt)*) => {
        #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
        #[job(queue = "disque-rs-drift")]
        $(#[$m])*
        pub enum $name $($body)*
    };
}

/// Like `job!`, for the self-describing codec (JSON).
macro_rules! json_job {
    ($(#[$m:meta])* struct $name:ident $($body:tt)*) => {
        #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
        #[job(queue = "disque-rs-drift-json", codec = disque::Json)]
        $(#[$m])*
        pub struct $name $($body)*
    };
}

/// One case's two versions of a job type: module `$pair::before` (the
/// producer's) and `$pair::after` (the consumer's).
macro_rules! pair {
    ($pair:ident, before { $($before:tt)* } after { $($after:tt)* }) => {
        mod $pair {
            pub mod before {
                $($before)*
            }
            pub mod after {
                $($after)*
            }
        }
    };
}

/// A pair whose job `$name` (made by `$job!`) has one field, whose type
/// changes from `$before` to `$after`.
macro_rules! field_pair {
    ($pair:ident, $job:ident!, struct $name:ident { $field:ident: $before:ty => $after:ty }) => {
        pair!($pair,
            before { $job!(struct $name { pub $field: $before, }); }
            after { $job!(struct $name { pub $field: $after, }); }
        );
    };
}

/// A pair whose job `$name { $field }` (made by `$job!`) stays as it is
/// while the type of its field, defined next to it, changes.
macro_rules! inner_pair {
    ($pair:ident, $job:ident!, struct $name:ident { $field:ident },
     before: $bty:ident = { $($before:tt)* },
     after: $aty:ident = { $($after:tt)* }) => {
        pair!($pair,
            before {
                #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
                $($before)*
                $job!(struct $name { pub $field: $bty, });
            }
            after {
                #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
                $($after)*
                $job!(struct $name { pub $field: $aty, });
            }
        );
    };
}

/// Runs [`drift`] for a pair: `$sent` is written with the names of
/// `$pair::before` in scope, `$expect` with those of `$pair::after`, and the
/// consumer's type is `$pair::after::$job`.
macro_rules! drift_pair {
    ($client:expr, $case:literal, $pair:ident::$job:ident, $sent:expr => $expect:expr) => {{
        let sent = {
            #[allow(unused_imports)]
            use $pair::before::*;
            $sent
        };
        let expect: Expect<$pair::after::$job> = {
            #[allow(unused_imports)]
            use $pair::after::*;
            $expect
        };
        drift($client, $case, sent, expect).await;
    }};
}

inner_pair!(nested_swap, job!, struct Resize { dims },
    before: Dims = { pub struct Dims { pub w: u32, pub h: u32 } },
    after: Dims = { pub struct Dims { pub h: u32, pub w: u32 } });

inner_pair!(nested_type, job!, struct Resize { dims },
    before: Dims = { pub struct Dims { pub w: u32, pub h: u32 } },
    after: Dims = { pub struct Dims { pub w: u64, pub h: u32 } });

inner_pair!(nested_rename, job!, struct Resize { dims },
    before: Dims = { pub struct Dims { pub width: u32 } },
    after: Dims = { pub struct Dims { pub height: u32 } });

inner_pair!(nested_container_renamed, job!, struct Resize { dims },
    before: Dims = { pub struct Dims(pub u32); },
    after: Size = { pub struct Size(pub u32); });

inner_pair!(enum_added, job!, struct Resize { fit },
    before: Fit = { pub enum Fit { Cover, Contain } },
    after: Fit = { pub enum Fit { Cover, Contain, Fill } });

inner_pair!(enum_reordered, job!, struct Resize { fit },
    before: Fit = { pub enum Fit { Cover, Contain } },
    after: Fit = { pub enum Fit { Contain, Cover } });

pair!(enum_payload,
    before { job!(enum Op { Scale(u32), Crop { x: u32, y: u32 } }); }
    after { job!(enum Op { Scale(u64), Crop { x: u32, y: u32 } }); }
);

pair!(field_reordered,
    before { job!(struct Move { pub x: i32, pub y: i32 }); }
    after { job!(struct Move { pub y: i32, pub x: i32 }); }
);

field_pair!(option_to_plain, job!, struct Mail { cc: Option<String> => String });
field_pair!(plain_to_option, job!, struct Mail { cc: String => Option<String> });
field_pair!(vec_width, job!, struct Batch { ids: Vec<u32> => Vec<u64> });
field_pair!(signedness, job!, struct Offset { by: i32 => u32 });
field_pair!(string_to_bytes, job!, struct Blob { data: String => Vec<u8> });
field_pair!(tuple_arity, job!, struct Point { at: (u32, u32) => (u32, u32, u32) });

pair!(alias_target,
    before {
        pub type Px = u32;
        job!(struct Resize { pub w: Px });
    }
    after {
        pub type Px = u16;
        job!(struct Resize { pub w: Px });
    }
);

mod generic_argument {
    #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
    #[job(queues(Resize<u8> = "disque-rs-drift-u8", Resize<u16> = "disque-rs-drift-u16"))]
    pub struct Resize<P> {
        pub pixels: Vec<P>,
    }
}

pair!(unit_to_struct,
    before { job!(struct Tick;); }
    after { job!(struct Tick { pub at: u64 }); }
);

pair!(version_bumped,
    before {
        #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
        #[job(queue = "disque-rs-drift")]
        pub struct Timeout {
            pub secs: u64,
        }
    }
    after {
        /// `secs` became milliseconds: same shape, another meaning.
        #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
        #[job(queue = "disque-rs-drift", version = 2)]
        pub struct Timeout {
            pub secs: u64,
        }
    }
);

// Changes the bytes do not see: decoded, and correctly.

pair!(serde_rename_keeps_name,
    before { job!(struct Mail { pub to: String }); }
    after {
        job!(
            struct Mail {
                #[serde(rename = "to")]
                pub recipient: String,
            }
        );
    }
);

pair!(docs_paths_and_derives,
    before {
        job!(
            struct Mail {
                pub to: Vec<String>,
                pub tags: std::collections::BTreeMap<String, u8>,
            }
        );
    }
    after {
        use std::collections::BTreeMap;

        /// Docs, another derive order, paths written differently, a method.
        #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize, disque::Job)]
        #[job(queue = "disque-rs-drift")]
        pub struct Mail {
            /// Recipients.
            pub to: std::vec::Vec<std::string::String>,
            pub tags: BTreeMap<String, u8>,
        }

        impl Mail {
            pub fn first(&self) -> Option<&String> {
                self.to.first()
            }
        }
    }
);

field_pair!(map_kind, job!, struct Counts {
    by: std::collections::BTreeMap<String, u32> => std::collections::HashMap<String, u32>
});
field_pair!(boxed, job!, struct Tree { size: u32 => Box<u32> });

// Self-describing codec (JSON): serde decides.

pair!(json_added_default,
    before { json_job!(struct Mail { pub to: String }); }
    after {
        json_job!(
            struct Mail {
                pub to: String,
                #[serde(default)]
                pub cc: Vec<String>,
            }
        );
    }
);

pair!(json_removed_optional,
    before { json_job!(struct Mail { pub to: String, pub cc: Option<String> }); }
    after { json_job!(struct Mail { pub to: String }); }
);

inner_pair!(json_nested_swap, json_job!, struct Resize { dims },
    before: Dims = { pub struct Dims { pub w: u32, pub h: u32 } },
    after: Dims = { pub struct Dims { pub h: u32, pub w: u32 } });

field_pair!(json_incompatible, json_job!, struct Mail { to: String => u64 });

pair!(json_version_bumped,
    before { json_job!(struct Timeout { pub secs: u64 }); }
    after {
        #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
        #[job(queue = "disque-rs-drift-json", codec = disque::Json, version = 2)]
        pub struct Timeout {
            pub secs: u64,
        }
    }
);

#[tokio::test]
async fn drift_bincode_refuses_every_change_the_bytes_would_hide() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let c = &client;
    use Expect::Refused;

    drift_pair!(c, "nested-field-swap", nested_swap::Resize,
        Resize { dims: Dims { w: 640, h: 480 } } => Refused(OTHER_SHAPE));
    drift_pair!(c, "nested-field-type", nested_type::Resize,
        Resize { dims: Dims { w: 640, h: 480 } } => Refused(OTHER_SHAPE));
    drift_pair!(c, "nested-field-renamed", nested_rename::Resize,
        Resize { dims: Dims { width: 3 } } => Refused(OTHER_SHAPE));
    drift_pair!(c, "nested-type-renamed", nested_container_renamed::Resize,
        Resize { dims: Dims(3) } => Refused(OTHER_SHAPE));
    drift_pair!(c, "enum-variant-added", enum_added::Resize,
        Resize { fit: Fit::Contain } => Refused(OTHER_SHAPE));
    drift_pair!(c, "enum-variants-reordered", enum_reordered::Resize,
        Resize { fit: Fit::Cover } => Refused(OTHER_SHAPE));
    drift_pair!(c, "enum-variant-payload", enum_payload::Op,
        Op::Scale(2) => Refused(OTHER_SHAPE));
    drift_pair!(c, "field-reordered", field_reordered::Move,
        Move { x: 1, y: -1 } => Refused(OTHER_SHAPE));
    drift_pair!(c, "option-to-plain", option_to_plain::Mail,
        Mail { cc: Some("x".into()) } => Refused(OTHER_SHAPE));
    drift_pair!(c, "plain-to-option", plain_to_option::Mail,
        Mail { cc: "x".into() } => Refused(OTHER_SHAPE));
    drift_pair!(c, "vec-u32-to-u64", vec_width::Batch,
        Batch { ids: vec![1, 2] } => Refused(OTHER_SHAPE));
    drift_pair!(c, "i32-to-u32", signedness::Offset,
        Offset { by: -1 } => Refused(OTHER_SHAPE));
    drift_pair!(c, "string-to-bytes", string_to_bytes::Blob,
        Blob { data: "ab".into() } => Refused(OTHER_SHAPE));
    drift_pair!(c, "tuple-arity", tuple_arity::Point,
        Point { at: (1, 2) } => Refused(OTHER_SHAPE));
    drift_pair!(c, "alias-points-elsewhere", alias_target::Resize,
        Resize { w: 7 } => Refused(OTHER_SHAPE));
    drift::<_, generic_argument::Resize<u16>>(
        c,
        "generic-argument",
        generic_argument::Resize::<u8> { pixels: vec![1, 2] },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift_pair!(c, "unit-to-struct", unit_to_struct::Tick,
        Tick => Refused(OTHER_SHAPE));
    drift_pair!(c, "version-bumped", version_bumped::Timeout,
        Timeout { secs: 5 } => Refused("the producer wrote version 1 of this type"));
}

#[tokio::test]
async fn drift_bincode_decodes_changes_the_bytes_do_not_see() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let c = &client;
    use Expect::Value;

    drift_pair!(c, "serde-rename-keeps-name", serde_rename_keeps_name::Mail,
        Mail { to: "a".into() } => Value(Mail { recipient: "a".into() }));
    let tags: std::collections::BTreeMap<String, u8> = [("k".to_owned(), 1)].into();
    let after = docs_paths_and_derives::after::Mail {
        to: vec!["a".into()],
        tags: tags.clone(),
    };
    assert_eq!(after.first().map(String::as_str), Some("a"));
    drift_pair!(c, "docs-paths-derive-order", docs_paths_and_derives::Mail,
        Mail { to: vec!["a".into()], tags } => Value(after));
    drift_pair!(c, "btreemap-to-hashmap", map_kind::Counts,
        Counts { by: [("a".to_owned(), 2)].into() } => Value(Counts { by: [("a".to_owned(), 2)].into() }));
    drift_pair!(c, "boxed", boxed::Tree,
        Tree { size: 4 } => Value(Tree { size: Box::new(4) }));
}

#[tokio::test]
async fn drift_json_lets_serde_decide() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let c = &client;
    use Expect::{Refused, Value};

    drift_pair!(c, "json-added-default-field", json_added_default::Mail,
        Mail { to: "a".into() } => Value(Mail { to: "a".into(), cc: vec![] }));
    drift_pair!(c, "json-removed-optional-field", json_removed_optional::Mail,
        Mail { to: "a".into(), cc: Some("b".into()) } => Value(Mail { to: "a".into() }));
    drift_pair!(c, "json-nested-swap", json_nested_swap::Resize,
        Resize { dims: Dims { w: 640, h: 480 } } => Value(Resize { dims: Dims { h: 480, w: 640 } }));
    drift_pair!(c, "json-incompatible-type", json_incompatible::Mail,
        Mail { to: "a".into() } => Refused("codec json cannot decode"));
    drift_pair!(c, "json-version-bumped", json_version_bumped::Timeout,
        Timeout { secs: 5 } => Refused("the producer wrote version 1 of this type"));
}
