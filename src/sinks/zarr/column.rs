//! A column of the data array: every channel over the time span of one stored object, kept
//! chunk by chunk, and encoded on all cores as its chunks fill.
//!
//! The column is split into parts, one per inner chunk of time: a part is every channel row
//! over one chunk's samples, row-major, so its chunk rows lie one after the other and each
//! chunk is encoded where it lies (no gather into a shard-shaped array, no copy into the
//! codec). As soon as every channel has passed the end of a part, the part goes to the rayon
//! pool to be encoded while the next samples come in, and each chunk's bytes are kept until the
//! column is stored: storing a column only encodes what changed since (the tail of a column
//! flushed at a commit, chunks a late sample touched), and a commit that flushes an open
//! column does not encode again the chunks it already encoded.
//!
//! Objects are assembled as the layout declares them (`sharding_indexed`: chunks in C order,
//! then the index of `(offset, nbytes)` pairs, `u64::MAX` for empty chunks, little-endian, and
//! its CRC-32C): byte for byte what zarrs' own sharding codec writes (unit test below), so a
//! column written again with the same data makes the same bytes.

use std::num::NonZeroU64;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use zarrs::array::codec::CodecChain;
use zarrs::array::{ArrayBytes, ArrayToBytesCodecTraits, CodecOptions, DataType, FillValue};
use zarrs::metadata::v3::MetadataV3;
use zarrs::storage::{Bytes, StoreKey};

use super::layout::Layout;
use super::store::{Objects, Stored};

/// Shapes of a column: inner chunk and stored object (shard or chunk), channels × samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub chunk: [usize; 2],
    pub block: [usize; 2],
}

impl Shape {
    pub fn of(layout: &Layout) -> Shape {
        let [c0, c1] = layout.chunk;
        let [b0, b1] = layout.block();
        Shape {
            chunk: [c0 as usize, c1 as usize],
            block: [b0 as usize, b1 as usize],
        }
    }

    fn chunk_len(&self) -> usize {
        self.chunk[0] * self.chunk[1]
    }

    /// Parts (inner chunks of time) per column.
    fn parts(&self) -> usize {
        self.block[1] / self.chunk[1]
    }

    /// Chunk rows per object.
    fn chunk_rows_per_block(&self) -> usize {
        self.block[0] / self.chunk[0]
    }
}

/// Asks the kernel to back a large buffer with huge pages: a column is hundreds of MB filled
/// at once, and faulting it in 4 KiB at a time costs more than a tenth of encoding it.
fn huge_pages(v: &mut Vec<f32>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_mut_ptr() as usize;
        let end = start + v.capacity() * std::mem::size_of::<f32>();
        let (a, b) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if b > a {
            // SAFETY: advice on pages this Vec owns; it changes how they are backed, not
            // their contents, and failure (no THP) is harmless.
            unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_HUGEPAGE) };
        }
    }
}

/// A column's sample buffers (one per part), handed from a dropped column to the next.
pub type Buffers = Vec<Vec<f32>>;

/// One chunk's encoded form: not yet (or no longer) encoded, or its bytes (None: every
/// sample is missing, and zarr stores nothing).
#[derive(Debug, Clone, PartialEq)]
enum Encoded {
    Stale,
    Done(Option<Vec<u8>>),
}

/// One inner chunk of time over every channel row.
struct Part {
    /// The samples (channel rows × chunk width, row-major); None while an encoder has them.
    data: Option<Vec<f32>>,
    /// Per chunk row.
    chunks: Vec<Encoded>,
}

/// What the encoders send back: the part, its buffer, and each chunk row's bytes (None for
/// rows that were not stale, which they left alone, or that failed).
type Finished = (usize, Vec<f32>, Vec<Option<Encoded>>);

/// A part with the encoders: its samples, and each chunk row's bytes as its encoder sets them.
struct Away {
    p: usize,
    data: Vec<f32>,
    chunks: Vec<OnceLock<Encoded>>,
    back: Sender<Finished>,
}

impl Away {
    /// Lets go of the part; the last holder (the last chunk's encoder, or the column if they
    /// all finished before it let go) sends it back to the column.
    fn hand_back(away: Arc<Away>) {
        if let Some(a) = Arc::into_inner(away) {
            let chunks = a.chunks.into_iter().map(OnceLock::into_inner).collect();
            // The column may have been dropped on an error path; then nobody waits.
            let _ = a.back.send((a.p, a.data, chunks));
        }
    }
}

/// The data of one column and whether it changed since it was last stored.
pub struct Column {
    shape: Shape,
    parts: Vec<Part>,
    /// Per channel row, how many samples from the column's start hold their value (samples put
    /// there, or NaN for what was skipped). Beyond that the buffer holds whatever the column
    /// that used it before left there, set to NaN only when a part is encoded: samples arrive
    /// in time order, so nearly every sample is written once, instead of once as NaN when the
    /// column opens and again when its data come (a column is hundreds of MB).
    ready: Vec<usize>,
    /// Parts with an encoder, which sends them back here.
    away: usize,
    back: Sender<Finished>,
    returns: Receiver<Finished>,
    pub dirty: bool,
}

impl Column {
    /// An empty column (NaN) for `rows` channel rows (whole object rows), reusing `spare`.
    pub fn new(shape: Shape, rows: usize, spare: Option<Buffers>) -> Column {
        let mut spare = spare.unwrap_or_default();
        let len = rows * shape.chunk[1];
        let parts = (0..shape.parts())
            .map(|_| {
                let mut data = spare.pop().unwrap_or_default();
                if data.capacity() < len {
                    data.clear();
                    data.reserve_exact(len);
                    huge_pages(&mut data);
                }
                data.truncate(len);
                data.resize(len, f32::NAN);
                Part {
                    data: Some(data),
                    chunks: vec![Encoded::Stale; rows / shape.chunk[0]],
                }
            })
            .collect();
        let (back, returns) = channel();
        Column {
            shape,
            parts,
            ready: vec![0; rows],
            away: 0,
            back,
            returns,
            dirty: false,
        }
    }

    /// The buffers, for the next column to reuse.
    pub fn into_buffers(mut self) -> Buffers {
        self.reclaim_all();
        self.parts.into_iter().filter_map(|p| p.data).collect()
    }

    /// Takes back what encoders have finished, without waiting.
    pub fn poll(&mut self) {
        while let Ok(f) = self.returns.try_recv() {
            self.take_back(f);
        }
    }

    fn take_back(&mut self, (p, data, chunks): Finished) {
        self.away -= 1;
        let part = &mut self.parts[p];
        part.data = Some(data);
        for (e, c) in part.chunks.iter_mut().zip(chunks) {
            if let Some(c) = c {
                *e = c;
            }
        }
    }

    /// Waits for part `p` if an encoder has it.
    fn reclaim(&mut self, p: usize) -> &mut Part {
        while self.parts[p].data.is_none() {
            let f = self
                .returns
                .recv()
                .expect("the column holds a sender, so the channel stays open");
            self.take_back(f);
        }
        &mut self.parts[p]
    }

    fn reclaim_all(&mut self) {
        while self.away > 0 {
            let f = self.returns.recv().expect("the column holds a sender");
            self.take_back(f);
        }
    }

    /// Room for `rows` channel rows (more channels appeared): new objects at the end, NaN.
    pub fn grow(&mut self, rows: usize) {
        self.reclaim_all();
        let width = self.shape.chunk[1];
        for part in &mut self.parts {
            if let Some(d) = &mut part.data {
                d.resize(rows * width, f32::NAN);
            }
            part.chunks
                .resize(rows / self.shape.chunk[0], Encoded::Stale);
        }
        self.ready.resize(rows, self.shape.block[1]);
    }

    /// Copies `values` into channel row `ch` from sample `within` of the column on.
    pub fn put(&mut self, ch: usize, within: usize, values: &[f32]) {
        let ready = self.ready[ch];
        if within > ready {
            self.fill(ch, ready..within);
        }
        self.each_piece(ch, within, values.len(), |piece, at| {
            piece.copy_from_slice(&values[at..at + piece.len()])
        });
        self.ready[ch] = ready.max(within + values.len());
        self.dirty = true;
    }

    /// Sets samples `span` of channel row `ch` to NaN.
    fn fill(&mut self, ch: usize, span: std::ops::Range<usize>) {
        self.each_piece(ch, span.start, span.len(), |piece, _| piece.fill(f32::NAN));
    }

    /// Calls `f` on the buffer's pieces of channel row `ch` from sample `within` on, `len`
    /// samples in all (one piece per part), with each piece's offset into the span; the
    /// chunks touched are marked for encoding again.
    fn each_piece(
        &mut self,
        ch: usize,
        within: usize,
        len: usize,
        mut f: impl FnMut(&mut [f32], usize),
    ) {
        let width = self.shape.chunk[1];
        let chunk_row = ch / self.shape.chunk[0];
        let mut done = 0;
        while done < len {
            let at = within + done;
            let take = (len - done).min(width - at % width);
            let part = self.reclaim(at / width);
            part.chunks[chunk_row] = Encoded::Stale;
            let base = ch * width + at % width;
            let data = part.data.as_mut().expect("reclaimed");
            f(&mut data[base..base + take], done);
            done += take;
        }
    }

    /// Sets to NaN what no sample was put in before sample `end` of the column.
    fn complete_through(&mut self, end: usize) {
        for ch in 0..self.ready.len() {
            let ready = self.ready[ch];
            if ready < end {
                self.fill(ch, ready..end);
                self.ready[ch] = end;
            }
        }
    }

    /// Hands the parts that end at or before sample `upto` of the column (every channel has
    /// passed them) and have chunks to encode to the rayon pool, to be encoded while the next
    /// samples come in.
    pub fn encode_ahead(&mut self, upto: usize, codec: &Arc<ChunkCodec>) {
        self.poll();
        let width = self.shape.chunk[1];
        let chunk_len = self.shape.chunk_len();
        for p in 0..(upto / width).min(self.parts.len()) {
            let part = &self.parts[p];
            if part.data.is_none() || !part.chunks.contains(&Encoded::Stale) {
                continue;
            }
            self.complete_through((p + 1) * width);
            let part = &mut self.parts[p];
            let stale: Vec<usize> = (0..part.chunks.len())
                .filter(|&r| part.chunks[r] == Encoded::Stale)
                .collect();
            let away = Arc::new(Away {
                p,
                data: part.data.take().expect("checked above"),
                chunks: part.chunks.iter().map(|_| OnceLock::new()).collect(),
                back: self.back.clone(),
            });
            self.away += 1;
            // One job per chunk (only those that changed since they were last encoded), none
            // waiting for another: a job that waited (a parallel iterator over the part) ran
            // later parts' jobs on its stack meanwhile, so parts came back all together
            // instead of in turn, and the writer of a retired column waited for every part
            // queued after it.
            for r in stale {
                let (codec, away) = (codec.clone(), away.clone());
                rayon::spawn(move || {
                    // A failed chunk is left stale, for the column's store to encode again and
                    // report.
                    if let Ok(bytes) = codec.encode(&away.data[r * chunk_len..(r + 1) * chunk_len])
                    {
                        let _ = away.chunks[r].set(Encoded::Done(bytes));
                    }
                    Away::hand_back(away);
                });
            }
            Away::hand_back(away);
        }
    }

    /// Loads object `b` from its stored form (channels × samples, row-major).
    pub fn load_block(&mut self, b: usize, stored: &[f32]) {
        let [rows, width] = self.shape.block;
        for (r, row) in stored.chunks(width).take(rows).enumerate() {
            self.put(b * rows + r, 0, row);
        }
    }

    /// Encodes what is not encoded yet of objects `0..blocks` on all cores, then hands each
    /// object in turn to `store` (object index, and its bytes as the pieces to write one after
    /// the other, or None when every sample is missing); what `store` returns, in object order.
    /// Objects are stored on the calling thread, so that waiting for the disk does not hold a
    /// core the encoders could use.
    pub fn encode<T>(
        &mut self,
        codec: &ChunkCodec,
        blocks: usize,
        store: impl FnMut(usize, Option<&[&[u8]]>) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        self.reclaim_all();
        self.complete_through(self.shape.block[1]);
        let chunk_len = self.shape.chunk_len();
        let rows = blocks * self.shape.chunk_rows_per_block();
        let stale = |p: &Part| p.chunks[..rows].contains(&Encoded::Stale);
        // Only when there is something to encode: the pool runs jobs in turn, so even an empty
        // job would wait here for the next column's parts queued before it.
        if !self.parts.iter().any(stale) {
            return self.store_objects(codec, blocks, store);
        }
        self.parts
            .par_iter_mut()
            .try_for_each(|part| -> Result<(), String> {
                let data = part.data.as_ref().expect("reclaimed");
                part.chunks[..rows]
                    .par_iter_mut()
                    .enumerate()
                    .with_max_len(1)
                    .filter(|(_, e)| **e == Encoded::Stale)
                    .try_for_each(|(r, e)| {
                        let c = &data[r * chunk_len..(r + 1) * chunk_len];
                        *e = Encoded::Done(codec.encode(c)?);
                        Ok(())
                    })
            })?;
        self.store_objects(codec, blocks, store)
    }

    /// Hands objects `0..blocks`, every chunk of them encoded, to `store` in turn.
    fn store_objects<T>(
        &self,
        codec: &ChunkCodec,
        blocks: usize,
        mut store: impl FnMut(usize, Option<&[&[u8]]>) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let per_block = self.shape.chunk_rows_per_block();
        (0..blocks)
            .map(|b| {
                // C order inside the object: chunk rows, then chunks of time (parts).
                let chunks: Vec<Option<&[u8]>> = (b * per_block..(b + 1) * per_block)
                    .flat_map(|r| {
                        self.parts.iter().map(move |p| match &p.chunks[r] {
                            Encoded::Done(c) => c.as_deref(),
                            Encoded::Stale => unreachable!("every chunk was encoded above"),
                        })
                    })
                    .collect();
                if !codec.sharded {
                    return store(b, chunks[0].map(|c| vec![c]).as_deref());
                }
                match shard_index(&chunks) {
                    Some(index) => {
                        let pieces: Vec<&[u8]> = chunks
                            .iter()
                            .flatten()
                            .copied()
                            .chain([&index[..]])
                            .collect();
                        store(b, Some(&pieces))
                    }
                    None => store(b, None),
                }
            })
            .collect()
    }
}

impl Column {
    /// Encodes the column's objects and stores each under its key (`keys[b]` for channel
    /// block `b`), erasing those left without data.
    pub fn store(
        &mut self,
        codec: &ChunkCodec,
        keys: &[StoreKey],
        objects: &Objects,
    ) -> Result<Stored, String> {
        if let Some(remote) = objects.remote() {
            // A remote store takes whole bodies, several at a time.
            let bodies = self.encode(codec, keys.len(), |b, object| {
                Ok((keys[b].clone(), object.map(|p| Bytes::from(p.concat()))))
            })?;
            return remote.put_together(bodies);
        }
        self.encode(codec, keys.len(), |b, object| {
            let key = &keys[b];
            let size = match object {
                Some(pieces) => {
                    objects.set_parts(key, pieces)?;
                    Some(pieces.iter().map(|p| p.len() as u64).sum())
                }
                None => objects.erase(key).map(|_| None)?,
            };
            Ok((key.clone(), size))
        })
    }
}

/// The chunk codec chain of a layout, with what encoding a chunk needs.
pub struct ChunkCodec {
    chain: Arc<CodecChain>,
    shape: [NonZeroU64; 2],
    data_type: DataType,
    fill: FillValue,
    sharded: bool,
}

impl ChunkCodec {
    pub fn new(
        layout: &Layout,
        data_type: &DataType,
        fill: &FillValue,
    ) -> Result<ChunkCodec, String> {
        let metadata: Vec<MetadataV3> = layout
            .codecs
            .iter()
            .map(|c| serde_json::from_value(c.clone()).map_err(|e| format!("codec {c}: {e}")))
            .collect::<Result<_, _>>()?;
        let chain = CodecChain::from_metadata(&metadata).map_err(|e| e.to_string())?;
        let dim = |n: u64| NonZeroU64::new(n).ok_or("a chunk dimension of 0");
        Ok(ChunkCodec {
            chain: Arc::new(chain),
            shape: [dim(layout.chunk[0])?, dim(layout.chunk[1])?],
            data_type: data_type.clone(),
            fill: fill.clone(),
            sharded: layout.shard.is_some(),
        })
    }

    /// One chunk's bytes, or None when it holds only the fill value (zarr stores nothing then).
    fn encode(&self, chunk: &[f32]) -> Result<Option<Vec<u8>>, String> {
        let bytes: &[u8] = bytemuck::cast_slice(chunk);
        if self.fill.equals_all(bytes) {
            return Ok(None);
        }
        let options = CodecOptions::default().with_concurrent_target(1);
        self.chain
            .encode(
                ArrayBytes::from(bytes),
                &self.shape,
                &self.data_type,
                &self.fill,
                &options,
            )
            .map(|e| Some(e.into_owned()))
            .map_err(|e| e.to_string())
    }
}

/// The end of a `sharding_indexed` shard whose chunks, the present ones one after the other,
/// come before it: the index (`bytes` little-endian) and its `crc32c`; None when every chunk
/// is empty (nothing is stored then).
fn shard_index(chunks: &[Option<&[u8]>]) -> Option<Vec<u8>> {
    if chunks.iter().all(Option::is_none) {
        return None;
    }
    let mut index = Vec::with_capacity(chunks.len() * 16 + 4);
    let mut at = 0u64;
    for c in chunks {
        let (offset, n) = match c {
            Some(c) => {
                let n = c.len() as u64;
                at += n;
                (at - n, n)
            }
            None => (u64::MAX, u64::MAX),
        };
        index.extend_from_slice(&offset.to_le_bytes());
        index.extend_from_slice(&n.to_le_bytes());
    }
    let crc = crc32c::crc32c(&index);
    index.extend_from_slice(&crc.to_le_bytes());
    Some(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::zarr::ZarrConfig;
    use zarrs::array::codec::{ShardingCodecOptions, SubchunkWriteOrder};
    use zarrs::array::{Array, CodecSpecificOptions};
    use zarrs::storage::store::MemoryStore;
    use zarrs::storage::ReadableStorageTraits;

    fn layout(codec: &str, shard: &str) -> Layout {
        let cfg: ZarrConfig = toml::from_str(&format!(
            "path = \"x\"\ncodec = \"{codec}\"\nchunk = [2, 8]\nshard = {shard}\norigin = \"first\""
        ))
        .unwrap();
        Layout::from_config(&cfg).unwrap()
    }

    /// zarrs storing the same objects, as the sink did before it encoded columns itself.
    fn by_zarrs(layout: &Layout, rows: usize, width: usize, data: &[f32]) -> Vec<Option<Vec<u8>>> {
        let store = Arc::new(MemoryStore::new());
        let meta = layout.data_array([rows as u64, width as u64], serde_json::json!({}));
        let ordered = CodecSpecificOptions::default().with_option(
            ShardingCodecOptions::default().with_subchunk_write_order(SubchunkWriteOrder::C),
        );
        let a =
            Array::new_with_metadata(store.clone(), "/x", serde_json::from_value(meta).unwrap())
                .unwrap()
                .with_codec_specific_options(&ordered);
        let [b0, b1] = layout.block();
        let (b0, b1) = (b0 as usize, b1 as usize);
        let mut out = Vec::new();
        for b in 0..rows / b0 {
            for t in 0..width / b1 {
                let block: Vec<f32> = (0..b0)
                    .flat_map(|r| {
                        let at = (b * b0 + r) * width + t * b1;
                        data[at..at + b1].to_vec()
                    })
                    .collect();
                let idx = [b as u64, t as u64];
                a.store_chunk(&idx, block).unwrap();
                out.push(store.get(&a.chunk_key(&idx)).unwrap().map(|b| b.to_vec()));
            }
        }
        out
    }

    #[test]
    fn objects_are_byte_for_byte_what_zarrs_writes() {
        let (rows, width) = (8, 32);
        // Noise, a channel block that is all missing, and an inner chunk that is all missing.
        let mut data: Vec<f32> = (0..rows * width)
            .map(|i| ((i * 7919) % 1013) as f32 * 0.5 - 200.0)
            .collect();
        data[4 * width..6 * width].fill(f32::NAN);
        for r in 0..2 {
            data[r * width + 16..r * width + 24].fill(f32::NAN);
        }
        for (codec, shard) in [
            ("zstd", "[4, 16]"),
            ("blosc", "[4, 16]"),
            ("pcodec", "[4, 16]"),
            ("zstd", "[]"),
        ] {
            let l = layout(codec, shard);
            let shape = Shape::of(&l);
            let [b0, b1] = shape.block;
            let want = by_zarrs(&l, rows, width, &data);
            let codec_ = ChunkCodec::new(
                &l,
                &zarrs::array::data_type::float32(),
                &FillValue::from(f32::NAN),
            )
            .unwrap();
            let codec_ = Arc::new(codec_);
            // Encoded at once, encoded ahead as parts fill, and flushed half-way (the rest
            // then put over the NaN the flush wrote, and encoded again).
            for way in ["at once", "ahead", "flushed"] {
                let mut got = vec![None; want.len()];
                for t in 0..width / b1 {
                    let mut col = Column::new(shape, rows, Some(vec![vec![9.0; 3]; 2]));
                    for ch in 0..rows {
                        let at = ch * width + t * b1;
                        col.put(ch, 0, &data[at..at + 5]);
                    }
                    match way {
                        "ahead" => col.encode_ahead(5, &codec_),
                        "flushed" => drop(
                            col.encode(&codec_, rows / b0, |_, o| Ok(o.map(|p| p.concat())))
                                .unwrap(),
                        ),
                        _ => {}
                    }
                    for ch in 0..rows {
                        let at = ch * width + t * b1;
                        // Across an inner chunk boundary.
                        col.put(ch, 5, &data[at + 5..at + b1]);
                        if way == "ahead" {
                            col.encode_ahead(b1, &codec_);
                        }
                    }
                    if way == "ahead" {
                        // A late sample into a chunk encoded ahead: encoded again.
                        let at = 3 * width + t * b1;
                        col.put(3, 1, &data[at + 1..at + 2]);
                    }
                    let objects = col
                        .encode(&codec_, rows / b0, |_, o| Ok(o.map(|p| p.concat())))
                        .unwrap();
                    for (b, o) in objects.into_iter().enumerate() {
                        got[b * (width / b1) + t] = o;
                    }
                }
                assert_eq!(got, want, "{codec} shard {shard}, {way}");
            }
        }
    }

    /// The column's samples, channel rows × column width, as bits.
    fn dense(c: &mut Column) -> Vec<Vec<u32>> {
        c.reclaim_all();
        let w = c.shape.chunk[1];
        (0..c.ready.len())
            .map(|ch| {
                c.parts
                    .iter()
                    .flat_map(|p| p.data.as_ref().unwrap()[ch * w..(ch + 1) * w].iter())
                    .map(|v| v.to_bits())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_reused_buffer_holds_only_what_was_put() {
        let shape = Shape::of(&layout("zstd", "[4, 16]"));
        let puts = |col: &mut Column| {
            col.put(0, 0, &[1.0; 5]);
            // A gap before the first sample, then one across a chunk boundary.
            col.put(1, 3, &[2.0; 4]);
            col.put(1, 10, &[3.0; 3]);
            // Back over samples already put.
            col.put(3, 0, &[4.0; 16]);
            col.put(3, 2, &[5.0; 2]);
            col.grow(12);
            col.put(9, 6, &[6.0; 1]);
        };
        let mut fresh = Column::new(shape, 8, None);
        puts(&mut fresh);
        let mut reused = Column::new(shape, 8, Some(vec![vec![7.0; 8 * 8]; 2]));
        puts(&mut reused);
        fresh.complete_through(16);
        reused.complete_through(16);
        let (fresh, reused) = (dense(&mut fresh), dense(&mut reused));
        assert_eq!(fresh, reused);
        let nan = f32::NAN.to_bits();
        let mut want1 = vec![nan; 16];
        want1[3..7].fill(2f32.to_bits());
        want1[10..13].fill(3f32.to_bits());
        assert_eq!(reused[1], want1);
        assert_eq!(reused[2], vec![nan; 16]);
        assert!(reused.iter().flatten().all(|v| *v != 7f32.to_bits()));
    }

    #[test]
    fn a_stored_block_loads_back_where_it_was() {
        let l = layout("zstd", "[4, 16]");
        let shape = Shape::of(&l);
        let stored: Vec<f32> = (0..64).map(|i| i as f32).collect();
        let mut a = Column::new(shape, 8, None);
        a.load_block(1, &stored);
        let mut b = Column::new(shape, 8, Some(vec![vec![1.0; 3]]));
        for r in 0..4 {
            b.put(4 + r, 0, &stored[r * 16..(r + 1) * 16]);
        }
        assert_eq!(dense(&mut a), dense(&mut b));
    }
}
