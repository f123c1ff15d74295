use disque::Job;

#[derive(Job)]
#[job(queue = "q")]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
