//! No job is enqueued that no consumer could decode, and producers in other
//! languages are welcome: a nested type bincode cannot round-trip is refused
//! at the first enqueue with nothing sent, and a raw JSON body written over
//! RESP (as Python or Go would) is consumed as a typed job.

mod common;

use common::{unique_queue, Target};
use disque::{Client, Error, Job};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
#[serde(untagged)]
enum Either {
    Number(u32),
    Text(String),
}

/// The job type itself has no serde attribute the derive could refuse; the
/// nested `Either` needs a self-describing codec.
#[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
#[job(queue = "disque-rs-drift-codec-untagged")]
struct Untagged {
    value: Either,
}

/// The same nested type with the codec the refusal suggests.
#[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
#[job(queue = "disque-rs-drift-codec-untagged-json", codec = disque::Json)]
struct UntaggedJson {
    value: Either,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Sometimes {
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    n: u32,
}

#[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
#[job(queue = "disque-rs-drift-codec-skipped")]
struct Skipped {
    inner: Sometimes,
}

#[tokio::test]
async fn a_nested_type_bincode_cannot_decode_is_refused_before_anything_is_sent() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let before = client.len(Untagged::QUEUE).await.unwrap();
    let err = client
        .enqueue(&Untagged {
            value: Either::Number(1),
        })
        .await
        .unwrap_err();
    match &err {
        Error::Encode(why) => {
            assert!(why.contains("needs a self-describing codec"), "{why}");
            assert!(why.contains("#[job(codec = disque::Json)]"), "{why}");
        }
        other => panic!("expected Encode, got {other:?}"),
    }
    assert_eq!(client.len(Untagged::QUEUE).await.unwrap(), before);
    if !target.is_external() {
        assert_eq!(before, 0);
    }
}

#[tokio::test]
async fn the_same_nested_type_with_a_self_describing_codec_round_trips() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let sent = UntaggedJson {
        value: Either::Text(unique_queue("untagged-json")),
    };
    client.enqueue(&sent).await.unwrap();
    // Bounded: a shared server may hold jobs of earlier runs in this queue.
    for _ in 0..100 {
        let job = client.consume::<UntaggedJson>().await.unwrap();
        let mine = *job == sent;
        job.ack().await.unwrap();
        if mine {
            return;
        }
    }
    panic!("the job sent was not consumed");
}

#[tokio::test]
async fn a_value_whose_bincode_bytes_would_not_decode_is_refused() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let before = client.len(Skipped::QUEUE).await.unwrap();
    // With the note present every field is written: fine.
    let full = Skipped {
        inner: Sometimes {
            note: Some("x".into()),
            n: 1,
        },
    };
    let body = disque::encode_payload(&full).unwrap();
    assert_eq!(disque::decode_payload::<Skipped>(&body).unwrap(), full);
    // Without it the field is skipped and the bytes would not decode.
    let err = client
        .enqueue(&Skipped {
            inner: Sometimes { note: None, n: 1 },
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Encode(why) if why.contains("do not decode back")),
        "{err:?}"
    );
    assert_eq!(client.len(Skipped::QUEUE).await.unwrap(), before);
}

/// The contract for other languages: plain JSON, no header.
#[derive(serde::Serialize, serde::Deserialize, disque::Job, Debug, PartialEq)]
#[job(queue = "disque-rs-drift-codec-signups", codec = disque::PlainJson)]
struct Signup {
    email: String,
    #[serde(default)]
    referrer: Option<String>,
}

/// `ADDJOB queue body 0` written as a RESP array, the way redis-py's
/// `execute_command` sends it; returns the job id from the reply.
async fn addjob_over_resp(addr: &str, queue: &str, body: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = b"*4\r\n$6\r\nADDJOB\r\n".to_vec();
    for arg in [queue, body, "0"] {
        request.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    stream.write_all(&request).await.unwrap();
    let mut reader = BufReader::new(stream);
    // Disque answers ADDJOB with a status reply: `+D-…\r\n`.
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let id = line.strip_prefix('+').expect("a status reply").trim_end();
    assert_eq!(id.len(), 40, "{line:?}");
    id.to_owned()
}

#[tokio::test]
async fn a_raw_json_body_from_another_language_is_consumed_typed() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    // What `r.execute_command("ADDJOB", "…signups", json.dumps({...}), 0)` sends.
    let id = addjob_over_resp(
        target.addr(),
        Signup::QUEUE,
        r#"{"email": "ada@example.com", "source": "python"}"#,
    )
    .await;
    // Against a shared server other runs may have left jobs: take ours.
    for _ in 0..100 {
        let job = client.consume::<Signup>().await.unwrap();
        if job.id().as_str() == id {
            assert_eq!(
                job.value(),
                &Signup {
                    email: "ada@example.com".into(),
                    referrer: None
                }
            );
            job.ack().await.unwrap();
            return;
        }
        job.ack().await.unwrap();
    }
    panic!("job {id} never came");
}

#[tokio::test]
async fn a_typed_plain_json_job_is_exactly_its_json() {
    let target = Target::start().await;
    let client = Client::connect(target.addr()).await.unwrap();
    let queue = unique_queue("plain-json");
    let signup = Signup {
        email: "a@b.c".into(),
        referrer: Some("go".into()),
    };
    client
        .add(disque::encode_payload(&signup).unwrap(), &queue)
        .await
        .unwrap();
    let raw = client.get(&[&queue]).await.unwrap().expect("queued");
    assert_eq!(raw.body(), br#"{"email":"a@b.c","referrer":"go"}"#);
    let typed = raw.decode::<Signup>().unwrap();
    assert_eq!(typed.value(), &signup);
    typed.ack().await.unwrap();
}
