//! A column of the data array: every channel over the time span of one stored object, kept
//! chunk by chunk, and encoded on all cores.
//!
//! The buffer holds the inner chunks one after another in the order they are encoded (channel
//! block, then chunk row, then chunk column, each chunk row-major inside), so encoding reads
//! each chunk where it lies: no gather into a shard-shaped array, no copy into the codec.
//! Every inner chunk of every object in the column is one rayon task, and an object is stored
//! as soon as its chunks are done, so one core writes a file while the other encodes.
//!
//! Objects are assembled as the layout declares them (`sharding_indexed`: chunks in C order,
//! then the index of `(offset, nbytes)` pairs, `u64::MAX` for empty chunks, little-endian, and
//! its CRC-32C): byte for byte what zarrs' own sharding codec writes (unit test below), so a
//! column written again with the same data makes the same bytes.

use std::num::NonZeroU64;
use std::sync::Arc;

use rayon::prelude::*;
use zarrs::array::codec::CodecChain;
use zarrs::array::{ArrayBytes, ArrayToBytesCodecTraits, CodecOptions, DataType, FillValue};
use zarrs::metadata::v3::MetadataV3;
use zarrs::storage::StoreKey;

use super::layout::Layout;
use super::node::Store;

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

    /// Inner chunks per object, and per object row of chunks.
    fn chunks_per_block(&self) -> (usize, usize) {
        let across = self.block[1] / self.chunk[1];
        (self.block[0] / self.chunk[0] * across, across)
    }

    fn block_len(&self) -> usize {
        self.block[0] * self.block[1]
    }

    /// Where sample `within` of channel row `ch` lies in the buffer.
    fn at(&self, ch: usize, within: usize) -> usize {
        let (per_block, across) = self.chunks_per_block();
        let (b, r) = (ch / self.block[0], ch % self.block[0]);
        let (cr, i) = (r / self.chunk[0], r % self.chunk[0]);
        let (cc, j) = (within / self.chunk[1], within % self.chunk[1]);
        ((b * per_block + cr * across + cc) * self.chunk[0] + i) * self.chunk[1] + j
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

/// The data of one column and whether it changed since it was last stored.
pub struct Column {
    shape: Shape,
    data: Vec<f32>,
    pub dirty: bool,
}

impl Column {
    /// An empty column (NaN) for `rows` channel rows (whole object rows), reusing `spare`.
    pub fn new(shape: Shape, rows: usize, spare: Option<Vec<f32>>) -> Column {
        let mut data = spare.unwrap_or_default();
        data.clear();
        let len = rows * shape.block[1];
        if data.capacity() < len {
            data.reserve_exact(len);
            huge_pages(&mut data);
        }
        data.resize(len, f32::NAN);
        Column {
            shape,
            data,
            dirty: false,
        }
    }

    /// The buffer, for the next column to reuse.
    pub fn into_buffer(self) -> Vec<f32> {
        self.data
    }

    /// Room for `rows` channel rows (more channels appeared): new objects at the end, NaN.
    pub fn grow(&mut self, rows: usize) {
        self.data.resize(rows * self.shape.block[1], f32::NAN);
    }

    /// Copies `values` into channel row `ch` from sample `within` of the column on.
    pub fn put(&mut self, ch: usize, within: usize, values: &[f32]) {
        let width = self.shape.chunk[1];
        let (mut at, mut rest) = (within, values);
        while !rest.is_empty() {
            let take = rest.len().min(width - at % width);
            let base = self.shape.at(ch, at);
            self.data[base..base + take].copy_from_slice(&rest[..take]);
            rest = &rest[take..];
            at += take;
        }
        self.dirty = true;
    }

    /// Loads object `b` from its stored form (channels × samples, row-major).
    pub fn load_block(&mut self, b: usize, stored: &[f32]) {
        let [rows, width] = self.shape.block;
        for (r, row) in stored.chunks(width).take(rows).enumerate() {
            self.put(b * rows + r, 0, row);
        }
    }

    /// Encodes objects `0..blocks` on all cores and hands each to `store` (object index, its
    /// bytes, or None when every sample is missing) as soon as it is complete; what `store`
    /// returns, in object order.
    pub fn encode<T: Send>(
        &self,
        codec: &ChunkCodec,
        blocks: usize,
        store: impl Fn(usize, Option<Vec<u8>>) -> Result<T, String> + Sync,
    ) -> Result<Vec<T>, String> {
        let (chunk_len, block_len) = (self.shape.chunk_len(), self.shape.block_len());
        (0..blocks)
            .into_par_iter()
            .map(|b| {
                let block = &self.data[b * block_len..(b + 1) * block_len];
                let chunks: Vec<Option<Vec<u8>>> = block
                    .par_chunks(chunk_len)
                    .with_max_len(1)
                    .map(|c| codec.encode(c))
                    .collect::<Result<_, String>>()?;
                let object = if codec.sharded {
                    shard(&chunks)
                } else {
                    chunks.into_iter().next().flatten()
                };
                store(b, object)
            })
            .collect()
    }
}

/// Each object's key and stored size (None: erased, nothing was recorded in it).
pub type Stored = Vec<(StoreKey, Option<u64>)>;

impl Column {
    /// Encodes the column's objects and stores each under its key (`keys[b]` for channel
    /// block `b`), erasing those left without data.
    pub fn store(
        &self,
        codec: &ChunkCodec,
        keys: &[StoreKey],
        store: &Store,
    ) -> Result<Stored, String> {
        self.encode(codec, keys.len(), |b, object| {
            let key = &keys[b];
            let size = match object {
                Some(bytes) => {
                    let n = bytes.len() as u64;
                    store.set(key, bytes.into()).map_err(|e| e.to_string())?;
                    Some(n)
                }
                None => store.erase(key).map(|_| None).map_err(|e| e.to_string())?,
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

/// A `sharding_indexed` shard with the index at the end (`bytes` little-endian + `crc32c`),
/// or None when every chunk is empty.
fn shard(chunks: &[Option<Vec<u8>>]) -> Option<Vec<u8>> {
    if chunks.iter().all(Option::is_none) {
        return None;
    }
    let size: usize = chunks.iter().flatten().map(Vec::len).sum();
    let mut out = Vec::with_capacity(size + chunks.len() * 16 + 4);
    let mut index = Vec::with_capacity(chunks.len() * 16);
    for c in chunks {
        let (offset, n) = match c {
            Some(c) => {
                let at = out.len() as u64;
                out.extend_from_slice(c);
                (at, c.len() as u64)
            }
            None => (u64::MAX, u64::MAX),
        };
        index.extend_from_slice(&offset.to_le_bytes());
        index.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(&index);
    out.extend_from_slice(&crc32c::crc32c(&index).to_le_bytes());
    Some(out)
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
            let mut got = vec![None; want.len()];
            for t in 0..width / b1 {
                let mut col = Column::new(shape, rows, None);
                for ch in 0..rows {
                    let at = ch * width + t * b1;
                    // In two pieces, across an inner chunk boundary.
                    col.put(ch, 0, &data[at..at + 5]);
                    col.put(ch, 5, &data[at + 5..at + b1]);
                }
                let objects = col.encode(&codec_, rows / b0, |_, o| Ok(o)).unwrap();
                for (b, o) in objects.into_iter().enumerate() {
                    got[b * (width / b1) + t] = o;
                }
            }
            assert_eq!(got, want, "{codec} shard {shard}");
        }
    }

    #[test]
    fn a_stored_block_loads_back_where_it_was() {
        let l = layout("zstd", "[4, 16]");
        let shape = Shape::of(&l);
        let stored: Vec<f32> = (0..64).map(|i| i as f32).collect();
        let mut a = Column::new(shape, 8, None);
        a.load_block(1, &stored);
        let mut b = Column::new(shape, 8, Some(vec![1.0; 3]));
        for r in 0..4 {
            b.put(4 + r, 0, &stored[r * 16..(r + 1) * 16]);
        }
        assert_eq!(
            a.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}
