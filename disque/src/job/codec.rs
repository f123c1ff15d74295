//! Payload codecs: how a job value becomes the bytes after the payload header.
//!
//! A job type picks its codec with `#[job(codec = …)]`; the default is
//! [`Bincode`]. Swapping codecs is a one-line change on the job type, but
//! producers and consumers must agree: the codec's [`Codec::ID`] travels in
//! the payload header and a consumer refuses a payload written with another
//! codec (see [`crate::payload`]).
//!
//! ```
//! use disque::{Bincode, Codec};
//!
//! let mut bytes = Vec::new();
//! Bincode::encode(&(7u32, "seven"), &mut bytes).unwrap();
//! let back: (u32, String) = Bincode::decode(&bytes).unwrap();
//! assert_eq!(back, (7, "seven".to_owned()));
//! ```

use serde::{de::DeserializeOwned, Serialize};

/// Turns serde values into bytes and back.
///
/// Codec ids 0–127 are reserved for the codecs of this crate (1: [`Bincode`],
/// 2: `Json`); your own codecs should use 128–255.
///
/// ```
/// use disque::{Codec, CodecError};
///
/// /// Bincode with big-endian fixed-width integers, for a legacy producer.
/// struct BigEndian;
///
/// impl Codec for BigEndian {
///     const ID: u8 = 200;
///     const NAME: &'static str = "bincode-big-endian";
///
///     fn encode<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
///         let config = bincode::config::standard().with_big_endian().with_fixed_int_encoding();
///         let bytes = bincode::serde::encode_to_vec(value, config).map_err(CodecError::new)?;
///         out.extend_from_slice(&bytes);
///         Ok(())
///     }
///
///     fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
///         let config = bincode::config::standard().with_big_endian().with_fixed_int_encoding();
///         let (value, _read) = bincode::serde::decode_from_slice(bytes, config).map_err(CodecError::new)?;
///         Ok(value)
///     }
/// }
///
/// let mut out = Vec::new();
/// BigEndian::encode(&1u32, &mut out).unwrap();
/// assert_eq!(out, [0, 0, 0, 1]);
/// ```
pub trait Codec: Send + Sync + 'static {
    /// The byte that identifies this codec in the payload header.
    const ID: u8;
    /// A human-readable name, used in error messages.
    const NAME: &'static str;
    /// Whether payloads start with the 12-byte header (`false`: the body is
    /// exactly the codec's bytes, as a producer in another language writes
    /// them; nothing but the codec then checks what arrives).
    const HEADER: bool = true;
    /// Whether the encoding carries its own field names and types (JSON,
    /// MessagePack with maps…). Then serde decides what is compatible: a
    /// payload of another shape is decoded if serde can, and the fingerprint
    /// holds only the type's `version`. Otherwise (bincode) the fingerprint
    /// holds the whole serde shape and must match, and types that need a
    /// self-describing format are refused at their first encode.
    const SELF_DESCRIBING: bool = false;
    /// Appends the encoding of `value` to `out`.
    fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError>;
    /// Decodes exactly `bytes` (trailing bytes are an error) as a `T`.
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError>;
}

/// Why a codec could not encode or decode a value.
///
/// ```
/// let error = disque::CodecError::new("unexpected end of input");
/// assert_eq!(error.to_string(), "unexpected end of input");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    message: String,
}

impl CodecError {
    /// An error with the given description.
    pub fn new(message: impl std::fmt::Display) -> Self {
        CodecError {
            message: message.to_string(),
        }
    }
}

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodecError {}

/// The name of the built-in codec with this id, if there is one (the
/// payload checks name codecs through `payload::crate_codec_name`, which
/// must agree: see the tests).
#[cfg(test)]
fn builtin_name(id: u8) -> Option<&'static str> {
    match id {
        Bincode::ID => Some(Bincode::NAME),
        JSON_ID => Some(JSON_NAME),
        _ => None,
    }
}

/// bincode 2.x (serde API, `bincode::config::standard()`): compact, fast, not
/// self-describing. The default codec.
///
/// bincode is unmaintained (its 3.x line is only a `compile_error!`); this
/// crate pins 2.x and keeps the codec swappable.
///
/// ```
/// use disque::{Bincode, Codec};
///
/// let mut out = Vec::new();
/// Bincode::encode("hi", &mut out).unwrap();
/// assert_eq!(out, [2, b'h', b'i']);
/// assert!(Bincode::decode::<String>(&[9, b'h']).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Bincode;

impl Codec for Bincode {
    const ID: u8 = 1;
    const NAME: &'static str = "bincode";

    fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
        bincode::serde::encode_into_std_write(value, out, bincode::config::standard())
            .map(|_written| ())
            .map_err(CodecError::new)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
        let (value, read) = bincode_decode_limited(bytes)?;
        match bytes.len() - read.min(bytes.len()) {
            0 => Ok(value),
            extra => Err(CodecError::new(format!(
                "{extra} unexpected trailing byte(s) after the value"
            ))),
        }
    }
}

/// Decodes with a bincode memory limit proportional to the input.
///
/// bincode allocates a string or byte buffer of the length its prefix
/// announces before reading it, so without a limit a 12-byte payload
/// announcing a terabyte aborts the process. A valid payload never claims
/// more than 16 bytes per input byte (a primitive claims its in-memory size,
/// at most 16, for at least one byte read; a string or byte buffer claims its
/// length, all of it read), so the limit is the first rung (spaced ×4) above
/// 16 × the input: valid payloads decode, and a lying length prefix fails
/// with "limit exceeded" after allocating at most 64 × the input.
fn bincode_decode_limited<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), CodecError> {
    use bincode::config::standard;
    use bincode::serde::decode_from_slice;
    let need = bytes.len().saturating_mul(16).saturating_add(1024);
    macro_rules! rungs {
        ($($limit:expr),*) => {$(
            if need <= $limit {
                return decode_from_slice(bytes, standard().with_limit::<{ $limit }>())
                    .map_err(CodecError::new);
            }
        )*};
    }
    rungs!(
        1 << 14,
        1 << 16,
        1 << 18,
        1 << 20,
        1 << 22,
        1 << 24,
        1 << 26,
        1 << 28,
        1 << 30
    );
    #[cfg(target_pointer_width = "64")]
    rungs!(1 << 32, 1 << 34, 1 << 36);
    Err(CodecError::new(format!(
        "a bincode payload of {} bytes is too large to decode",
        bytes.len()
    )))
}

#[cfg(any(test, feature = "json"))]
const JSON_ID: u8 = 2;
#[cfg(any(test, feature = "json"))]
const JSON_NAME: &str = "json";

/// JSON (serde_json): self-describing, readable in `SHOW`/`QPEEK`, easy to
/// produce from other languages. Needs the cargo feature `json`.
///
/// ```
/// # #[cfg(feature = "json")] {
/// use disque::{Codec, Json};
///
/// let mut out = Vec::new();
/// Json::encode(&[1, 2], &mut out).unwrap();
/// assert_eq!(out, b"[1,2]");
/// # }
/// ```
#[cfg(feature = "json")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

#[cfg(feature = "json")]
impl Codec for Json {
    const ID: u8 = JSON_ID;
    const NAME: &'static str = JSON_NAME;
    const SELF_DESCRIBING: bool = true;

    fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
        serde_json::to_writer(out, value).map_err(CodecError::new)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
        serde_json::from_slice(bytes).map_err(CodecError::new)
    }
}

/// Plain JSON, without the payload header: the body is exactly the JSON
/// text, as a producer in Python, Go or any other language writes it, and
/// serde's rules alone decide what a consumer accepts (unknown fields are
/// ignored, `#[serde(default)]` fills missing ones). Needs the cargo feature
/// `json`. The contract for producers in other languages.
///
#[cfg_attr(feature = "derive", doc = "```")]
#[cfg_attr(not(feature = "derive"), doc = "```ignore")]
/// # #[cfg(feature = "json")] {
/// #[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
/// #[job(queue = "signups", codec = disque::PlainJson)]
/// struct Signup { email: String, #[serde(default)] referrer: Option<String> }
///
/// // What `r.execute_command("ADDJOB", "signups", '{"email": "a@b.c"}', 0)` sends:
/// let body = br#"{"email": "a@b.c", "source": "python"}"#;
/// let signup: Signup = disque::decode_payload(body).unwrap();
/// assert_eq!(signup, Signup { email: "a@b.c".into(), referrer: None });
/// assert_eq!(disque::encode_payload(&signup).unwrap(), br#"{"email":"a@b.c","referrer":null}"#);
/// # }
/// ```
#[cfg(feature = "json")]
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainJson;

#[cfg(feature = "json")]
impl Codec for PlainJson {
    const ID: u8 = JSON_ID;
    const NAME: &'static str = "plain json";
    const HEADER: bool = false;
    const SELF_DESCRIBING: bool = true;

    fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
        Json::encode(value, out)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
        Json::decode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bincode_round_trips_and_refuses_trailing_bytes() {
        let mut out = Vec::new();
        Bincode::encode(&(1u8, "x".to_owned()), &mut out).unwrap();
        assert_eq!(
            Bincode::decode::<(u8, String)>(&out).unwrap(),
            (1, "x".to_owned())
        );
        out.push(0);
        let error = Bincode::decode::<(u8, String)>(&out).unwrap_err();
        assert!(error.to_string().contains("1 unexpected trailing byte"));
    }

    #[test]
    fn bincode_refuses_truncated_input_without_panicking() {
        assert!(Bincode::decode::<(u64, String)>(&[]).is_err());
        assert!(Bincode::decode::<String>(&[200, 1]).is_err());
        assert!(Bincode::decode::<Vec<u64>>(&[251, 255, 255]).is_err());
    }

    #[test]
    fn lying_length_prefixes_fail_without_allocating_them() {
        // u64 varint 2^40 as the length of a string / byte buffer / sequence.
        let mut lying = vec![253u8];
        lying.extend_from_slice(&(1u64 << 40).to_le_bytes());
        lying.extend_from_slice(b"abc");
        assert!(Bincode::decode::<String>(&lying).is_err());
        assert!(Bincode::decode::<Vec<u64>>(&lying).is_err());
        assert!(Bincode::decode::<(u8, String)>(&lying).is_err());
        assert!(Bincode::decode::<std::collections::HashMap<u64, String>>(&lying).is_err());
        let mut max = vec![253u8];
        max.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(Bincode::decode::<String>(&max).is_err());
    }

    #[test]
    fn limit_leaves_room_for_every_valid_payload() {
        // Worst cases of claimed bytes per input byte: u128 varints (16 per
        // byte), and a long string (1 per byte) at a rung boundary.
        let small = vec![1u128; 5_000];
        let long = "x".repeat((1 << 20) + 7);
        let mut out = Vec::new();
        Bincode::encode(&(&small, &long), &mut out).unwrap();
        let back: (Vec<u128>, String) = Bincode::decode(&out).unwrap();
        assert_eq!((back.0, back.1), (small, long));
    }

    #[test]
    fn builtin_names() {
        assert_eq!(builtin_name(Bincode::ID), Some("bincode"));
        assert_eq!(builtin_name(2), Some("json"));
        assert_eq!(builtin_name(0), None);
        for id in 0..=255 {
            assert_eq!(
                builtin_name(id),
                super::super::payload::crate_codec_name(id)
            );
        }
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_round_trips() {
        let mut out = Vec::new();
        Json::encode(&("a", 2), &mut out).unwrap();
        assert_eq!(out, br#"["a",2]"#);
        assert_eq!(
            Json::decode::<(String, i32)>(&out).unwrap(),
            ("a".to_owned(), 2)
        );
        assert!(Json::decode::<(String, i32)>(b"[1").is_err());
    }

    #[test]
    fn builtin_names_by_id() {
        assert_eq!(builtin_name(1), Some("bincode"));
        assert_eq!(builtin_name(99), None);
    }
}
