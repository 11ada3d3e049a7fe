//! Running a per-channel function over every row of a block, on all cores when the block is big.
//!
//! Channels are independent in every operator here, so a 10,000-channel DAS block splits
//! naturally across threads; small blocks stay on the calling thread, where the overhead of
//! handing work out would cost more than it saves. The result does not depend on which path ran.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

/// Blocks with at least this many samples are processed in parallel.
const PARALLEL_SAMPLES: usize = 1 << 16;

/// For each channel `c`: `f(&mut states[c], input row c, output row c)`, output rows `n_out` long.
pub fn map_rows<S, F>(states: &mut [S], input: ArrayView2<f32>, n_out: usize, f: F) -> Array2<f32>
where
    S: Send,
    F: Fn(&mut S, &[f32], &mut [f32]) + Sync,
{
    map_row_groups(states, input, n_out, 1, |s, x, y| {
        f(&mut s[0], x[0], &mut *y[0])
    })
}

/// The same over groups of `group` consecutive channels (the last group may be smaller), for
/// kernels that run several channels at once in SIMD lanes.
pub fn map_row_groups<S, F>(
    states: &mut [S],
    input: ArrayView2<f32>,
    n_out: usize,
    group: usize,
    f: F,
) -> Array2<f32>
where
    S: Send,
    F: Fn(&mut [S], &[&[f32]], &mut [&mut [f32]]) + Sync,
{
    let (c, n_in) = input.dim();
    assert_eq!(states.len(), c, "one state per channel");
    assert!(group > 0, "groups hold at least one channel");
    let input = input.as_standard_layout();
    let flat = input.as_slice().expect("standard layout is contiguous");
    let rows_in: Vec<&[f32]> = (0..c).map(|i| &flat[i * n_in..(i + 1) * n_in]).collect();
    let mut out = vec![0f32; c * n_out];
    let mut rows_out: Vec<&mut [f32]> = if n_out == 0 {
        (0..c).map(|_| <&mut [f32]>::default()).collect()
    } else {
        out.chunks_mut(n_out).collect()
    };
    if c > group && c * n_in.max(n_out) >= PARALLEL_SAMPLES {
        states
            .par_chunks_mut(group)
            .zip(rows_in.par_chunks(group))
            .zip(rows_out.par_chunks_mut(group))
            .for_each(|((s, x), y)| f(s, x, y));
    } else {
        for ((s, x), y) in states
            .chunks_mut(group)
            .zip(rows_in.chunks(group))
            .zip(rows_out.chunks_mut(group))
        {
            f(s, x, y);
        }
    }
    drop(rows_out);
    Array2::from_shape_vec((c, n_out), out).expect("shape matches the buffer")
}
