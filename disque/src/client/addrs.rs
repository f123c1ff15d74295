//! Node addresses: what [`Client::connect`](crate::Client::connect) accepts.

use crate::Error;

/// Disque's default port, used when an address has none.
///
/// ```
/// # #[tokio::main] async fn main() {
/// // "localhost" means "localhost:7711".
/// let refused = disque::Client::builder()
///     .connect_timeout(std::time::Duration::from_millis(200))
///     .connect("localhost")
///     .await;
/// # let _ = refused;
/// assert_eq!(disque::DEFAULT_PORT, 7711);
/// # }
/// ```
pub const DEFAULT_PORT: u16 = 7711;

/// One node address, `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NodeAddr {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl NodeAddr {
    /// Parses `host:port`, `host` (port 7711), `[v6]:port` or `v6` (port 7711).
    pub(crate) fn parse(raw: &str) -> Result<NodeAddr, Error> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Error::InvalidOptions("empty node address".into()));
        }
        if let Some(rest) = raw.strip_prefix('[') {
            let (host, tail) = rest
                .split_once(']')
                .ok_or_else(|| Error::InvalidOptions(format!("bad node address {raw:?}")))?;
            let port = match tail.strip_prefix(':') {
                Some(p) => parse_port(raw, p)?,
                None if tail.is_empty() => DEFAULT_PORT,
                None => return Err(Error::InvalidOptions(format!("bad node address {raw:?}"))),
            };
            return Ok(NodeAddr {
                host: host.to_owned(),
                port,
            });
        }
        match raw.rsplit_once(':') {
            // More than one colon and no brackets: a bare IPv6 address.
            Some((host, _)) if host.contains(':') => Ok(NodeAddr {
                host: raw.to_owned(),
                port: DEFAULT_PORT,
            }),
            Some((host, port)) if !host.is_empty() => Ok(NodeAddr {
                host: host.to_owned(),
                port: parse_port(raw, port)?,
            }),
            Some(_) => Err(Error::InvalidOptions(format!("bad node address {raw:?}"))),
            None => Ok(NodeAddr {
                host: raw.to_owned(),
                port: DEFAULT_PORT,
            }),
        }
    }
}

fn parse_port(raw: &str, port: &str) -> Result<u16, Error> {
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| Error::InvalidOptions(format!("bad port in node address {raw:?}")))
}

impl std::fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Anything naming one or more Disque nodes: `"host:port"`, a comma-separated
/// list `"a:7711,b:7711"`, `&[&str]`, `Vec<String>`, a `SocketAddr`…
///
/// The client tries the nodes in the order given, then learns the rest of
/// the cluster from `HELLO` (see [`Client::nodes`](crate::Client::nodes)).
///
/// ```
/// use disque::ToAddrs;
/// assert_eq!("a:1, b:2".to_addrs().len(), 2);
/// assert_eq!(vec!["a:1".to_string()].to_addrs(), vec!["a:1".to_string()]);
/// assert_eq!(["a:1", "b:2,c:3"].to_addrs().len(), 3);
/// ```
pub trait ToAddrs {
    /// The addresses, one `host:port` string each, in order.
    ///
    /// ```
    /// use disque::ToAddrs;
    /// assert_eq!("a:1,b:2".to_addrs(), ["a:1", "b:2"]);
    /// ```
    fn to_addrs(&self) -> Vec<String>;
}

fn split_list(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
}

impl ToAddrs for str {
    fn to_addrs(&self) -> Vec<String> {
        split_list(self).collect()
    }
}

impl ToAddrs for String {
    fn to_addrs(&self) -> Vec<String> {
        self.as_str().to_addrs()
    }
}

impl ToAddrs for std::net::SocketAddr {
    fn to_addrs(&self) -> Vec<String> {
        vec![self.to_string()]
    }
}

impl<T: ToAddrs + ?Sized> ToAddrs for &T {
    fn to_addrs(&self) -> Vec<String> {
        (**self).to_addrs()
    }
}

impl<T: ToAddrs> ToAddrs for [T] {
    fn to_addrs(&self) -> Vec<String> {
        self.iter().flat_map(ToAddrs::to_addrs).collect()
    }
}

impl<T: ToAddrs, const N: usize> ToAddrs for [T; N] {
    fn to_addrs(&self) -> Vec<String> {
        self.as_slice().to_addrs()
    }
}

impl<T: ToAddrs> ToAddrs for Vec<T> {
    fn to_addrs(&self) -> Vec<String> {
        self.as_slice().to_addrs()
    }
}

/// Parses every address; at least one is required.
pub(crate) fn parse_all(addrs: &(impl ToAddrs + ?Sized)) -> Result<Vec<NodeAddr>, Error> {
    let parsed = addrs
        .to_addrs()
        .iter()
        .map(|a| NodeAddr::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    if parsed.is_empty() {
        return Err(Error::InvalidOptions("no node address given".into()));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_address_forms() {
        let a = NodeAddr::parse("127.0.0.1:7712").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 7712));
        assert_eq!(NodeAddr::parse("localhost").unwrap().port, DEFAULT_PORT);
        let v6 = NodeAddr::parse("[::1]:7000").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 7000));
        assert_eq!(v6.to_string(), "[::1]:7000");
        assert_eq!(NodeAddr::parse("::1").unwrap().port, DEFAULT_PORT);
    }

    #[test]
    fn refuses_bad_addresses() {
        for bad in ["", "h:", "h:0", "h:99999", ":1", "[::1", "[::1]x"] {
            assert!(
                matches!(NodeAddr::parse(bad), Err(Error::InvalidOptions(_))),
                "{bad:?}"
            );
        }
        assert!(parse_all(&"  , ").is_err());
    }

    #[test]
    fn every_form_converts() {
        assert_eq!(parse_all("a:1,b:2").unwrap().len(), 2);
        assert_eq!(parse_all(&["a:1", "b:2"][..]).unwrap().len(), 2);
        assert_eq!(parse_all(&vec!["a:1".to_string()]).unwrap().len(), 1);
        let sa: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(parse_all(&sa).unwrap()[0].port, 9);
    }
}
