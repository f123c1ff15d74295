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

mod nested_swap {
    pub mod before {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Dims {
            pub w: u32,
            pub h: u32,
        }
        job!(
            struct Resize {
                pub dims: Dims,
            }
        );
    }
    pub mod after {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Dims {
            pub h: u32,
            pub w: u32,
        }
        job!(
            struct Resize {
                pub dims: Dims,
            }
        );
    }
}

mod nested_type {
    pub mod before {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Dims {
            pub w: u32,
            pub h: u32,
        }
        job!(
            struct Resize {
                pub dims: Dims,
            }
        );
    }
    pub mod after {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Dims {
            pub w: u64,
            pub h: u32,
        }
        job!(
            struct Resize {
                pub dims: Dims,
            }
        );
    }
}

mod nested_rename {
    pub mod before {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Dims {
            pub width: u32,
        }
        job!(
            struct Resize {
                pub dims: Dims,
            }
        );
    }
    pub mod after {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Dims {
            pub height: u32,
        }
        job!(
            struct Resize {
                pub dims: Dims,
            }
        );
    }
}

mod nested_container_renamed {
    pub mod before {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Dims(pub u32);
        job!(
            struct Resize {
                pub dims: Dims,
            }
        );
    }
    pub mod after {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Size(pub u32);
        job!(
            struct Resize {
                pub dims: Size,
            }
        );
    }
}

mod enum_added {
    pub mod before {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub enum Fit {
            Cover,
            Contain,
        }
        job!(
            struct Resize {
                pub fit: Fit,
            }
        );
    }
    pub mod after {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub enum Fit {
            Cover,
            Contain,
            Fill,
        }
        job!(
            struct Resize {
                pub fit: Fit,
            }
        );
    }
}

mod enum_reordered {
    pub mod before {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub enum Fit {
            Cover,
            Contain,
        }
        job!(
            struct Resize {
                pub fit: Fit,
            }
        );
    }
    pub mod after {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub enum Fit {
            Contain,
            Cover,
        }
        job!(
            struct Resize {
                pub fit: Fit,
            }
        );
    }
}

mod enum_payload {
    pub mod before {
        job!(
            enum Op {
                Scale(u32),
                Crop { x: u32, y: u32 },
            }
        );
    }
    pub mod after {
        job!(
            enum Op {
                Scale(u64),
                Crop { x: u32, y: u32 },
            }
        );
    }
}

mod field_reordered {
    pub mod before {
        job!(
            struct Move {
                pub x: i32,
                pub y: i32,
            }
        );
    }
    pub mod after {
        job!(
            struct Move {
                pub y: i32,
                pub x: i32,
            }
        );
    }
}

mod option_to_plain {
    pub mod before {
        job!(
            struct Mail {
                pub cc: Option<String>,
            }
        );
    }
    pub mod after {
        job!(
            struct Mail {
                pub cc: String,
            }
        );
    }
}

mod plain_to_option {
    pub mod before {
        job!(
            struct Mail {
                pub cc: String,
            }
        );
    }
    pub mod after {
        job!(
            struct Mail {
                pub cc: Option<String>,
            }
        );
    }
}

mod vec_width {
    pub mod before {
        job!(
            struct Batch {
                pub ids: Vec<u32>,
            }
        );
    }
    pub mod after {
        job!(
            struct Batch {
                pub ids: Vec<u64>,
            }
        );
    }
}

mod signedness {
    pub mod before {
        job!(
            struct Offset {
                pub by: i32,
            }
        );
    }
    pub mod after {
        job!(
            struct Offset {
                pub by: u32,
            }
        );
    }
}

mod string_to_bytes {
    pub mod before {
        job!(
            struct Blob {
                pub data: String,
            }
        );
    }
    pub mod after {
        job!(
            struct Blob {
                pub data: Vec<u8>,
            }
        );
    }
}

mod tuple_arity {
    pub mod before {
        job!(
            struct Point {
                pub at: (u32, u32),
            }
        );
    }
    pub mod after {
        job!(
            struct Point {
                pub at: (u32, u32, u32),
            }
        );
    }
}

mod alias_target {
    pub mod before {
        pub type Px = u32;
        job!(
            struct Resize {
                pub w: Px,
            }
        );
    }
    pub mod after {
        pub type Px = u16;
        job!(
            struct Resize {
                pub w: Px,
            }
        );
    }
}

mod generic_argument {
    #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
    #[job(queues(Resize<u8> = "disque-rs-drift-u8", Resize<u16> = "disque-rs-drift-u16"))]
    pub struct Resize<P> {
        pub pixels: Vec<P>,
    }
}

mod unit_to_struct {
    pub mod before {
        job!(
            struct Tick;
        );
    }
    pub mod after {
        job!(
            struct Tick {
                pub at: u64,
            }
        );
    }
}

mod version_bumped {
    pub mod before {
        #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
        #[job(queue = "disque-rs-drift")]
        pub struct Timeout {
            pub secs: u64,
        }
    }
    pub mod after {
        /// `secs` became milliseconds: same shape, another meaning.
        #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
        #[job(queue = "disque-rs-drift", version = 2)]
        pub struct Timeout {
            pub secs: u64,
        }
    }
}

// Changes the bytes do not see: decoded, and correctly.

mod serde_rename_keeps_name {
    pub mod before {
        job!(
            struct Mail {
                pub to: String,
            }
        );
    }
    pub mod after {
        job!(
            struct Mail {
                #[serde(rename = "to")]
                pub recipient: String,
            }
        );
    }
}

mod docs_paths_and_derives {
    pub mod before {
        job!(
            struct Mail {
                pub to: Vec<String>,
                pub tags: std::collections::BTreeMap<String, u8>,
            }
        );
    }
    pub mod after {
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
}

mod map_kind {
    pub mod before {
        job!(
            struct Counts {
                pub by: std::collections::BTreeMap<String, u32>,
            }
        );
    }
    pub mod after {
        job!(
            struct Counts {
                pub by: std::collections::HashMap<String, u32>,
            }
        );
    }
}

mod boxed {
    pub mod before {
        job!(
            struct Tree {
                pub size: u32,
            }
        );
    }
    pub mod after {
        job!(
            struct Tree {
                pub size: Box<u32>,
            }
        );
    }
}

// Self-describing codec (JSON): serde decides.

macro_rules! json_job {
    ($(#[$m:meta])* struct $name:ident $($body:tt)*) => {
        #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
        #[job(queue = "disque-rs-drift-json", codec = disque::Json)]
        $(#[$m])*
        pub struct $name $($body)*
    };
}

mod json_added_default {
    pub mod before {
        json_job!(
            struct Mail {
                pub to: String,
            }
        );
    }
    pub mod after {
        json_job!(
            struct Mail {
                pub to: String,
                #[serde(default)]
                pub cc: Vec<String>,
            }
        );
    }
}

mod json_removed_optional {
    pub mod before {
        json_job!(
            struct Mail {
                pub to: String,
                pub cc: Option<String>,
            }
        );
    }
    pub mod after {
        json_job!(
            struct Mail {
                pub to: String,
            }
        );
    }
}

mod json_nested_swap {
    pub mod before {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Dims {
            pub w: u32,
            pub h: u32,
        }
        json_job!(
            struct Resize {
                pub dims: Dims,
            }
        );
    }
    pub mod after {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        pub struct Dims {
            pub h: u32,
            pub w: u32,
        }
        json_job!(
            struct Resize {
                pub dims: Dims,
            }
        );
    }
}

mod json_incompatible {
    pub mod before {
        json_job!(
            struct Mail {
                pub to: String,
            }
        );
    }
    pub mod after {
        json_job!(
            struct Mail {
                pub to: u64,
            }
        );
    }
}

mod json_version_bumped {
    pub mod before {
        json_job!(
            struct Timeout {
                pub secs: u64,
            }
        );
    }
    pub mod after {
        #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
        #[job(queue = "disque-rs-drift-json", codec = disque::Json, version = 2)]
        pub struct Timeout {
            pub secs: u64,
        }
    }
}

#[tokio::test]
async fn drift_bincode_refuses_every_change_the_bytes_would_hide() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let c = &client;
    use Expect::Refused;

    drift::<_, nested_swap::after::Resize>(
        c,
        "nested-field-swap",
        nested_swap::before::Resize {
            dims: nested_swap::before::Dims { w: 640, h: 480 },
        },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, nested_type::after::Resize>(
        c,
        "nested-field-type",
        nested_type::before::Resize {
            dims: nested_type::before::Dims { w: 640, h: 480 },
        },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, nested_rename::after::Resize>(
        c,
        "nested-field-renamed",
        nested_rename::before::Resize {
            dims: nested_rename::before::Dims { width: 3 },
        },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, nested_container_renamed::after::Resize>(
        c,
        "nested-type-renamed",
        nested_container_renamed::before::Resize {
            dims: nested_container_renamed::before::Dims(3),
        },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, enum_added::after::Resize>(
        c,
        "enum-variant-added",
        enum_added::before::Resize {
            fit: enum_added::before::Fit::Contain,
        },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, enum_reordered::after::Resize>(
        c,
        "enum-variants-reordered",
        enum_reordered::before::Resize {
            fit: enum_reordered::before::Fit::Cover,
        },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, enum_payload::after::Op>(
        c,
        "enum-variant-payload",
        enum_payload::before::Op::Scale(2),
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, field_reordered::after::Move>(
        c,
        "field-reordered",
        field_reordered::before::Move { x: 1, y: -1 },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, option_to_plain::after::Mail>(
        c,
        "option-to-plain",
        option_to_plain::before::Mail {
            cc: Some("x".into()),
        },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, plain_to_option::after::Mail>(
        c,
        "plain-to-option",
        plain_to_option::before::Mail { cc: "x".into() },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, vec_width::after::Batch>(
        c,
        "vec-u32-to-u64",
        vec_width::before::Batch { ids: vec![1, 2] },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, signedness::after::Offset>(
        c,
        "i32-to-u32",
        signedness::before::Offset { by: -1 },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, string_to_bytes::after::Blob>(
        c,
        "string-to-bytes",
        string_to_bytes::before::Blob { data: "ab".into() },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, tuple_arity::after::Point>(
        c,
        "tuple-arity",
        tuple_arity::before::Point { at: (1, 2) },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, alias_target::after::Resize>(
        c,
        "alias-points-elsewhere",
        alias_target::before::Resize { w: 7 },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, generic_argument::Resize<u16>>(
        c,
        "generic-argument",
        generic_argument::Resize::<u8> { pixels: vec![1, 2] },
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, unit_to_struct::after::Tick>(
        c,
        "unit-to-struct",
        unit_to_struct::before::Tick,
        Refused(OTHER_SHAPE),
    )
    .await;
    drift::<_, version_bumped::after::Timeout>(
        c,
        "version-bumped",
        version_bumped::before::Timeout { secs: 5 },
        Refused("the producer wrote version 1 of this type"),
    )
    .await;
}

#[tokio::test]
async fn drift_bincode_decodes_changes_the_bytes_do_not_see() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let c = &client;
    use Expect::Value;

    drift(
        c,
        "serde-rename-keeps-name",
        serde_rename_keeps_name::before::Mail { to: "a".into() },
        Value(serde_rename_keeps_name::after::Mail {
            recipient: "a".into(),
        }),
    )
    .await;
    let tags: std::collections::BTreeMap<String, u8> = [("k".to_owned(), 1)].into();
    let after = docs_paths_and_derives::after::Mail {
        to: vec!["a".into()],
        tags: tags.clone(),
    };
    assert_eq!(after.first().map(String::as_str), Some("a"));
    drift(
        c,
        "docs-paths-derive-order",
        docs_paths_and_derives::before::Mail {
            to: vec!["a".into()],
            tags,
        },
        Value(after),
    )
    .await;
    drift(
        c,
        "btreemap-to-hashmap",
        map_kind::before::Counts {
            by: [("a".to_owned(), 2)].into(),
        },
        Value(map_kind::after::Counts {
            by: [("a".to_owned(), 2)].into(),
        }),
    )
    .await;
    drift(
        c,
        "boxed",
        boxed::before::Tree { size: 4 },
        Value(boxed::after::Tree { size: Box::new(4) }),
    )
    .await;
}

#[tokio::test]
async fn drift_json_lets_serde_decide() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let c = &client;

    drift(
        c,
        "json-added-default-field",
        json_added_default::before::Mail { to: "a".into() },
        Expect::Value(json_added_default::after::Mail {
            to: "a".into(),
            cc: vec![],
        }),
    )
    .await;
    drift(
        c,
        "json-removed-optional-field",
        json_removed_optional::before::Mail {
            to: "a".into(),
            cc: Some("b".into()),
        },
        Expect::Value(json_removed_optional::after::Mail { to: "a".into() }),
    )
    .await;
    drift(
        c,
        "json-nested-swap",
        json_nested_swap::before::Resize {
            dims: json_nested_swap::before::Dims { w: 640, h: 480 },
        },
        Expect::Value(json_nested_swap::after::Resize {
            dims: json_nested_swap::after::Dims { h: 480, w: 640 },
        }),
    )
    .await;
    drift::<_, json_incompatible::after::Mail>(
        c,
        "json-incompatible-type",
        json_incompatible::before::Mail { to: "a".into() },
        Expect::Refused("codec json cannot decode"),
    )
    .await;
    drift::<_, json_version_bumped::after::Timeout>(
        c,
        "json-version-bumped",
        json_version_bumped::before::Timeout { secs: 5 },
        Expect::Refused("the producer wrote version 1 of this type"),
    )
    .await;
}
