use disque::JobSet;

#[derive(JobSet)]
enum Nothing {}

fn main() {}
