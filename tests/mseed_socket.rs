//! Records decoded as their bytes arrive over a real TCP connection on loopback, written by
//! the other end in uneven pieces with pauses: the same records, in the same order, as reading
//! the file whole.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use seisreduce::formats::mseed::{RecordReader, RecordStream, StreamItem};

#[test]
fn records_arrive_over_tcp_as_from_the_file() {
    let bytes = std::fs::read(common::test_data().join("mseed/infinite-loop.mseed")).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = bytes.clone();
    let writer = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        let mut pos = 0;
        let mut k = 0usize;
        while pos < sent.len() {
            let n = [1usize, 7, 300, 513, 2048, 45][k % 6].min(sent.len() - pos);
            s.write_all(&sent[pos..pos + n]).unwrap();
            pos += n;
            k += 1;
            if k % 5 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    let (conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let got: Vec<(u64, Option<usize>)> = RecordStream::new(conn)
        .map(|item| match item {
            StreamItem::Record(r) => (r.offset, Some(r.header.sample_count)),
            StreamItem::Bad(e) => (e.offset, None),
            StreamItem::Io(e) => panic!("socket error: {e}"),
        })
        .collect();
    writer.join().unwrap();
    let want: Vec<(u64, Option<usize>)> = RecordReader::new(&bytes)
        .map(|r| match r {
            Ok(rec) => (rec.offset, Some(rec.header.sample_count)),
            Err(e) => (e.offset, None),
        })
        .collect();
    assert_eq!(got, want);
    assert!(got.iter().filter(|g| g.1.is_some()).count() > 10);
}
