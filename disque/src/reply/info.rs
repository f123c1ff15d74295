//! INFO: [`Info`], sections of `key:value` lines.

use redis::Value;

use super::bytes;
use crate::Error;

/// The reply of INFO ([`Client::info`](crate::Client::info)): sections
/// (`# Name`) of `key:value` entries, in the server's order.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// # let client = disque::Client::connect(node.addr()).await?;
/// client.add(b"x".as_slice(), "info-doc").await?;
/// let info = client.info(None).await?;
/// assert_eq!(info.get_as::<u64>("registered_jobs"), Some(1));
/// let jobs = info.section("jobs").expect("a Jobs section");
/// assert_eq!(jobs.name(), "Jobs");
/// assert!(jobs.entries().any(|(key, _)| key == "registered_jobs"));
/// assert!(info.sections().count() > 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    sections: Vec<InfoSection>,
}

/// One section of [`Info`]: its name and its entries in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InfoSection {
    name: String,
    entries: Vec<(String, String)>,
}

impl InfoSection {
    /// The section's name as the server wrote it (`Server`, `Jobs`…).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of `key` in this section.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The entries `(key, value)` in the server's order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl Info {
    /// Parses INFO's text. Never fails: lines that are neither `# Section` nor
    /// `key:value` are skipped; entries before any heading go to a section
    /// named `""`. An empty text (INFO of an unknown section) has no sections.
    pub(crate) fn parse(text: &str) -> Info {
        let mut sections: Vec<InfoSection> = Vec::new();
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('#') {
                sections.push(InfoSection {
                    name: name.trim().to_owned(),
                    entries: Vec::new(),
                });
            } else if let Some((key, value)) = line.split_once(':') {
                if sections.is_empty() {
                    sections.push(InfoSection::default());
                }
                if let Some(section) = sections.last_mut() {
                    section.entries.push((key.to_owned(), value.to_owned()));
                }
            }
        }
        Info { sections }
    }

    /// Parses INFO's reply (a bulk string).
    pub(crate) fn from_value(value: Value) -> Result<Info, Error> {
        let raw = bytes(value, "INFO text")?;
        Ok(Info::parse(&String::from_utf8_lossy(&raw)))
    }

    /// The sections, in the server's order.
    pub fn sections(&self) -> impl Iterator<Item = &InfoSection> {
        self.sections.iter()
    }

    /// The section called `name` (compared case-insensitively).
    pub fn section(&self, name: &str) -> Option<&InfoSection> {
        self.sections
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The value of `key`, whatever its section (the first one that has it).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.sections.iter().find_map(|s| s.get(key))
    }

    /// The value of `key` parsed as a `T` (`None` if absent or unparsable).
    pub fn get_as<T: std::str::FromStr>(&self, key: &str) -> Option<T> {
        self.get(key).and_then(|v| v.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_values::*;
    use super::*;

    /// golden/info_sections.json's `INFO` (values filled in as a real node writes them).
    const INFO: &str = "# Server\r\ndisque_version:1.0-rc1\r\ndisque_git_sha1:00000000\r\n\
        disque_git_dirty:0\r\ndisque_build_id:3c5ab1e5f7e4d5e2\r\nos:Linux 6.1.0 x86_64\r\n\
        arch_bits:64\r\nmultiplexing_api:epoll\r\ngcc_version:12.2.0\r\nprocess_id:4242\r\n\
        run_id:5f2d0c7d8e0b4c7e9c3a1b2d3e4f5a6b7c8d9e0f\r\ntcp_port:7811\r\nuptime_in_seconds:12\r\n\
        uptime_in_days:0\r\nhz:10\r\nexecutable:/usr/local/bin/disque-server\r\nconfig_file:\r\n\r\n\
        # Clients\r\nconnected_clients:1\r\nclient_longest_output_list:0\r\n\
        client_biggest_input_buf:0\r\nblocked_clients:0\r\n\r\n\
        # Memory\r\nused_memory:1000\r\nused_memory_human:1000B\r\nused_memory_rss:2000\r\n\
        used_memory_peak:1000\r\nused_memory_peak_human:1000B\r\nmem_fragmentation_ratio:2.00\r\n\
        mem_allocator:jemalloc-4.0.3\r\n\r\n\
        # Jobs\r\nregistered_jobs:0\r\n\r\n# Queues\r\nregistered_queues:0\r\n\r\n\
        # Persistence\r\nloading:0\r\naof_enabled:0\r\naof_state:off\r\naof_rewrite_in_progress:0\r\n\
        aof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n\
        aof_last_bgrewrite_status:ok\r\naof_last_write_status:ok\r\n\r\n\
        # Stats\r\ntotal_connections_received:1\r\ntotal_commands_processed:3\r\n\
        instantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:50\r\ntotal_net_output_bytes:20\r\n\
        instantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\nrejected_connections:0\r\n\
        latest_fork_usec:0\r\n\r\n\
        # CPU\r\nused_cpu_sys:0.01\r\nused_cpu_user:0.02\r\nused_cpu_sys_children:0.00\r\n\
        used_cpu_user_children:0.00\r\n";

    #[test]
    fn parses_every_golden_section_in_order() {
        let info = Info::from_value(bulk(INFO)).unwrap();
        let names: Vec<&str> = info.sections().map(InfoSection::name).collect();
        assert_eq!(
            names,
            [
                "Server",
                "Clients",
                "Memory",
                "Jobs",
                "Queues",
                "Persistence",
                "Stats",
                "CPU"
            ]
        );
        let server = info.section("server").unwrap();
        assert_eq!(server.entries().count(), 16);
        assert_eq!(server.entries().next(), Some(("disque_version", "1.0-rc1")));
        assert_eq!(server.get("config_file"), Some(""));
        assert_eq!(info.get_as::<u16>("tcp_port"), Some(7811));
        assert_eq!(info.get_as::<u64>("registered_jobs"), Some(0));
        assert_eq!(info.get("aof_state"), Some("off"));
        assert_eq!(info.get_as::<i64>("aof_last_rewrite_time_sec"), Some(-1));
        assert_eq!(info.get("os"), Some("Linux 6.1.0 x86_64"));
    }

    #[test]
    fn values_may_contain_colons() {
        let info = Info::parse("# Server\nexecutable:C:\\disque\n");
        assert_eq!(info.get("executable"), Some("C:\\disque"));
    }

    #[test]
    fn empty_bulk_of_an_unknown_section_has_no_sections() {
        // golden/info_sections.json: INFO nosuchsection -> "".
        let info = Info::from_value(bulk("")).unwrap();
        assert_eq!(info, Info::default());
    }

    #[test]
    fn tolerates_headless_entries_and_junk_lines() {
        let info = Info::parse("a:1\r\njunk\r\n# S\r\nb:2\r\n");
        assert_eq!(info.get("a"), Some("1"));
        assert_eq!(info.section("").unwrap().get("a"), Some("1"));
        assert_eq!(info.section("S").unwrap().entries().count(), 1);
    }

    #[test]
    fn non_string_replies_are_protocol_errors() {
        assert!(matches!(Info::from_value(int(1)), Err(Error::Protocol(_))));
        assert!(matches!(
            Info::from_value(err("ERR syntax error")),
            Err(Error::Server(_))
        ));
    }

    // Examples that build replies from `redis::Value`s (not public API).
    #[test]
    fn doc_example_1() -> Result<(), crate::Error> {
        use crate::reply::Info;

        let info =
            Info::parse("# Jobs\r\nregistered_jobs:3\r\n\r\n# Queues\r\nregistered_queues:1\r\n");
        assert_eq!(info.get("registered_jobs"), Some("3"));
        assert_eq!(info.get_as::<u64>("registered_queues"), Some(1));
        assert_eq!(info.section("queues").map(|s| s.name()), Some("Queues"));
        Ok(())
    }

    #[test]
    fn doc_example_2() -> Result<(), crate::Error> {
        let info = crate::reply::Info::parse("# CPU\r\nused_cpu_sys:0.01\r\n");
        let cpu = info.section("CPU").unwrap();
        assert_eq!(cpu.get("used_cpu_sys"), Some("0.01"));
        assert_eq!(cpu.entries().count(), 1);
        Ok(())
    }

    #[test]
    fn doc_example_3() -> Result<(), crate::Error> {
        let info = crate::reply::Info::parse("# Jobs\r\nregistered_jobs:0\r\n");
        assert_eq!(info.sections().next().unwrap().name(), "Jobs");
        Ok(())
    }

    #[test]
    fn doc_example_4() -> Result<(), crate::Error> {
        let info = crate::reply::Info::parse("# Jobs\r\nregistered_jobs:0\r\n");
        assert_eq!(
            info.section("Jobs").unwrap().get("registered_jobs"),
            Some("0")
        );
        Ok(())
    }

    #[test]
    fn doc_example_5() -> Result<(), crate::Error> {
        let info = crate::reply::Info::parse("# S\r\na:1\r\nb:2\r\n");
        let keys: Vec<&str> = info
            .section("S")
            .unwrap()
            .entries()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["a", "b"]);
        Ok(())
    }

    #[test]
    fn doc_example_6() -> Result<(), crate::Error> {
        assert_eq!(crate::reply::Info::parse("").sections().count(), 0);
        Ok(())
    }

    #[test]
    fn doc_example_7() -> Result<(), crate::Error> {
        use redis::Value;
        let info = crate::reply::Info::from_value(Value::BulkString(
            b"# Jobs\r\nregistered_jobs:2\r\n".to_vec(),
        ))?;
        assert_eq!(info.get("registered_jobs"), Some("2"));
        Ok(())
    }

    #[test]
    fn doc_example_8() -> Result<(), crate::Error> {
        let info = crate::reply::Info::parse("# A\r\n# B\r\n");
        let names: Vec<&str> = info.sections().map(|s| s.name()).collect();
        assert_eq!(names, ["A", "B"]);
        Ok(())
    }

    #[test]
    fn doc_example_9() -> Result<(), crate::Error> {
        let info = crate::reply::Info::parse("# Persistence\r\nloading:0\r\n");
        assert!(info.section("persistence").is_some());
        assert!(info.section("cpu").is_none());
        Ok(())
    }

    #[test]
    fn doc_example_10() -> Result<(), crate::Error> {
        let info = crate::reply::Info::parse("# Server\r\ntcp_port:7711\r\n");
        assert_eq!(info.get("tcp_port"), Some("7711"));
        assert_eq!(info.get("nope"), None);
        Ok(())
    }

    #[test]
    fn doc_example_11() -> Result<(), crate::Error> {
        let info = crate::reply::Info::parse("# Memory\r\nmem_fragmentation_ratio:1.25\r\n");
        assert_eq!(info.get_as::<f64>("mem_fragmentation_ratio"), Some(1.25));
        assert_eq!(info.get_as::<u64>("mem_fragmentation_ratio"), None);
        Ok(())
    }
}
