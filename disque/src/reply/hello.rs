//! HELLO: [`Hello`] and [`NodeInfo`].

use redis::Value;

use super::{array, integer, text, unsigned};
use crate::{Error, JobId};

/// The reply of HELLO ([`Client::hello`](crate::Client::hello)): the
/// protocol version, the id of the node that answered, and the nodes of the
/// cluster it knows.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// # let client = disque::Client::connect(node.addr()).await?;
/// let hello = client.hello().await?;
/// let me = hello.me().expect("the node lists itself");
/// assert_eq!(me.id, hello.id);
/// let id = client.add(b"x".as_slice(), "hello-doc").await?;
/// assert!(me.created(&id));
/// assert_eq!(hello.node_of(&id).map(|n| &n.id), Some(&hello.id));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hello {
    /// The HELLO format version (1).
    pub version: i64,
    /// The id of the node that answered.
    pub id: String,
    /// The nodes it knows, itself included.
    pub nodes: Vec<NodeInfo>,
}

/// One node in a [`Hello`] reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeInfo {
    /// Its id (40 hex chars).
    pub id: String,
    /// Its IP address; empty on a standalone node no peer has met yet.
    pub ip: String,
    /// Its client port.
    pub port: u16,
    /// Its priority: lower is better (1 is a healthy node; higher values mean
    /// it is failing or leaving).
    pub priority: i64,
}

impl NodeInfo {
    /// `ip:port` (IPv6 in brackets), or `None` when the node does not know its
    /// own IP yet (a standalone node).
    pub fn address(&self) -> Option<String> {
        if self.ip.is_empty() {
            None
        } else if self.ip.contains(':') {
            Some(format!("[{}]:{}", self.ip, self.port))
        } else {
            Some(format!("{}:{}", self.ip, self.port))
        }
    }

    /// Whether `id` was created by this node (its 8-char node prefix).
    pub fn created(&self, id: &JobId) -> bool {
        self.id
            .get(..8)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(id.node_prefix()))
    }
}

impl Hello {
    /// Parses `[version, my-id, [id, ip, port, priority]…]`; port and priority
    /// may be bulk strings (as Disque sends them) or integers.
    pub(crate) fn from_value(value: Value) -> Result<Hello, Error> {
        let mut items = array(value, "HELLO reply")?.into_iter();
        let (Some(version), Some(id)) = (items.next(), items.next()) else {
            return Err(Error::Protocol(
                "HELLO: expected a version and a node id".to_owned(),
            ));
        };
        Ok(Hello {
            version: integer(version, "HELLO version")?,
            id: text(id, "HELLO node id")?,
            nodes: items.map(NodeInfo::from_value).collect::<Result<_, _>>()?,
        })
    }

    /// The entry of the node that answered.
    pub fn me(&self) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.id == self.id)
    }

    /// The node that created job `id` (by its node prefix), if known.
    pub fn node_of(&self, id: &JobId) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.created(id))
    }
}

impl NodeInfo {
    /// Parses one `[id, ip, port, priority]` entry.
    fn from_value(value: Value) -> Result<NodeInfo, Error> {
        let fields = array(value, "HELLO node entry")?;
        let n = fields.len();
        let Ok([id, ip, port, priority]) = <[Value; 4]>::try_from(fields) else {
            return Err(Error::Protocol(format!(
                "HELLO: expected [id, ip, port, priority], got an array of {n}"
            )));
        };
        Ok(NodeInfo {
            id: text(id, "HELLO node id")?,
            ip: text(ip, "HELLO node ip")?,
            port: unsigned(port, "HELLO node port")?,
            priority: integer(priority, "HELLO node priority")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_values::*;
    use super::*;

    const N1: &str = "dcb833cfd6c5ad00e55ea0b5e5fc8bf3fcdd5c9a";
    const N2: &str = "0f3ac4a3e5b5e9b2b5a1c0dd6f5e33d2b1a0c9e8";

    #[test]
    fn parses_the_golden_standalone_hello() {
        // golden/hello_shape.json: own ip "", port and priority as bulk strings.
        let reply = arr(vec![
            int(1),
            bulk(N1),
            arr(vec![bulk(N1), bulk(""), bulk("7811"), bulk("1")]),
        ]);
        let hello = Hello::from_value(reply).unwrap();
        assert_eq!(hello.version, 1);
        assert_eq!(hello.id, N1);
        assert_eq!(
            hello.nodes,
            [NodeInfo {
                id: N1.into(),
                ip: String::new(),
                port: 7811,
                priority: 1
            }]
        );
        assert_eq!(hello.me().unwrap().address(), None);
    }

    #[test]
    fn parses_the_golden_cluster_hello_and_finds_a_job_origin() {
        // golden/cluster_hello.json, as seen from the second node.
        let reply = arr(vec![
            int(1),
            bulk(N2),
            arr(vec![bulk(N1), bulk("127.0.0.1"), bulk("7811"), bulk("1")]),
            arr(vec![bulk(N2), bulk("127.0.0.1"), int(7812), int(10)]),
        ]);
        let hello = Hello::from_value(reply).unwrap();
        assert_eq!(
            hello.me().unwrap().address().as_deref(),
            Some("127.0.0.1:7812")
        );
        assert_eq!(hello.me().unwrap().priority, 10);
        let job = JobId::parse("D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1").unwrap();
        assert_eq!(hello.node_of(&job).unwrap().id, N1);
    }

    #[test]
    fn ipv6_addresses_are_bracketed() {
        let n = NodeInfo {
            id: N1.into(),
            ip: "::1".into(),
            port: 7711,
            priority: 1,
        };
        assert_eq!(n.address().as_deref(), Some("[::1]:7711"));
    }

    #[test]
    fn bad_shapes_are_protocol_errors() {
        for reply in [
            int(1),
            arr(vec![int(1)]),
            arr(vec![
                int(1),
                bulk(N1),
                arr(vec![bulk(N1), bulk(""), bulk("7811")]),
            ]),
            arr(vec![
                int(1),
                bulk(N1),
                arr(vec![bulk(N1), bulk(""), bulk("port"), bulk("1")]),
            ]),
            arr(vec![
                int(1),
                bulk(N1),
                arr(vec![bulk(N1), bulk(""), bulk("70000"), bulk("1")]),
            ]),
            arr(vec![bulk("x"), bulk(N1)]),
        ] {
            assert!(
                matches!(Hello::from_value(reply.clone()), Err(Error::Protocol(_))),
                "{reply:?}"
            );
        }
    }

    // Examples that build replies from `redis::Value`s (not public API).
    #[test]
    fn doc_example_1() -> Result<(), crate::Error> {
        use crate::reply::Hello;
        use redis::Value;

        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let me = "dcb833cfd6c5ad00e55ea0b5e5fc8bf3fcdd5c9a";
        let reply = Value::Array(vec![
            Value::Int(1),
            b(me),
            Value::Array(vec![b(me), b("127.0.0.1"), b("7711"), b("1")]),
        ]);
        let hello = Hello::from_value(reply)?;
        assert_eq!(hello.me().map(|n| n.port), Some(7711));
        assert_eq!(hello.nodes[0].address().as_deref(), Some("127.0.0.1:7711"));
        Ok(())
    }

    #[test]
    fn doc_example_2() -> Result<(), crate::Error> {
        use redis::Value;
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let id = "dcb833cfd6c5ad00e55ea0b5e5fc8bf3fcdd5c9a";
        let hello = crate::reply::Hello::from_value(Value::Array(vec![
            Value::Int(1),
            b(id),
            Value::Array(vec![b(id), b(""), b("7711"), b("1")]),
        ]))?;
        assert_eq!(hello.nodes[0].address(), None);
        Ok(())
    }

    #[test]
    fn doc_example_3() -> Result<(), crate::Error> {
        use redis::Value;
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let id = "dcb833cfd6c5ad00e55ea0b5e5fc8bf3fcdd5c9a";
        let hello = crate::reply::Hello::from_value(Value::Array(vec![
            Value::Int(1),
            b(id),
            Value::Array(vec![b(id), b(""), b("7711"), b("1")]),
        ]))?;
        let job: crate::JobId = "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1".parse()?;
        assert!(hello.nodes[0].created(&job));
        Ok(())
    }

    #[test]
    fn doc_example_4() -> Result<(), crate::Error> {
        use redis::Value;
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let id = "dcb833cfd6c5ad00e55ea0b5e5fc8bf3fcdd5c9a";
        let hello = crate::reply::Hello::from_value(Value::Array(vec![
            Value::Int(1),
            b(id),
            Value::Array(vec![b(id), b(""), b("7711"), b("1")]),
        ]))?;
        assert_eq!(hello.me().map(|n| n.id.as_str()), Some(id));
        Ok(())
    }

    #[test]
    fn doc_example_5() -> Result<(), crate::Error> {
        use redis::Value;
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let id = "dcb833cfd6c5ad00e55ea0b5e5fc8bf3fcdd5c9a";
        let hello = crate::reply::Hello::from_value(Value::Array(vec![
            Value::Int(1),
            b(id),
            Value::Array(vec![b(id), b(""), b("7711"), b("1")]),
        ]))?;
        let job: crate::JobId = "D-deadbeef-8YL1NT17e9+wsA/09NqxscQI-05a1".parse()?;
        assert!(hello.node_of(&job).is_none());
        Ok(())
    }
}
