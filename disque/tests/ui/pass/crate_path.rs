// `crate = path`: the generated code reaches `disque` through a renamed
// import or a re-export instead of `::disque`.
use disque as queueing;

mod facade {
    pub use ::disque::*;
}

#[derive(serde::Serialize, serde::Deserialize, queueing::Job)]
#[job(crate = queueing, queue = "renamed", retry = "5s")]
struct Renamed;

#[derive(serde::Serialize, serde::Deserialize, facade::Job)]
#[job(queue = "through-facade", crate = crate::facade, priority = 3)]
struct ThroughFacade {
    n: u8,
}

#[derive(facade::JobSet)]
#[job_set(crate = facade)]
enum Work {
    Renamed(facade::Delivery<Renamed>),
    ThroughFacade(facade::Delivery<ThroughFacade>),
}

fn main() {
    use queueing::Job;
    assert_eq!(Renamed::QUEUE, "renamed");
    assert_eq!(
        Renamed::options(),
        queueing::JobOptions::new().retry(std::time::Duration::from_secs(5))
    );
    assert_eq!(ThroughFacade::PRIORITY, 3);
    assert_eq!(<Work as facade::JobSet>::queues(), ["through-facade", "renamed"]);
}
