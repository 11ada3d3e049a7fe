use seisreduce::formats::mseed::{read_buffer, RecordReader, Samples};
fn main() {
    let bytes = std::fs::read(std::env::args().nth(1).unwrap()).unwrap();
    let t = std::time::Instant::now();
    let mut out = Samples::Int(Vec::with_capacity(1 << 20));
    let mut n = 0;
    for _ in 0..10 {
        for rec in RecordReader::new(&bytes).flatten() {
            if let Samples::Int(v) = &mut out { v.clear(); }
            rec.decode_into(&mut out).unwrap();
            n += out.len();
        }
    }
    let dt = t.elapsed().as_secs_f64();
    println!("decode only (reused buffer): {:.1} Msamples/s", n as f64 / dt / 1e6);
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..10 { n += read_buffer(&bytes).segments.iter().map(|s| s.npts()).sum::<usize>(); }
    let dt = t.elapsed().as_secs_f64();
    println!("read_buffer: {:.1} Msamples/s", n as f64 / dt / 1e6);
}
