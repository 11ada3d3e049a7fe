//! Operators that work on whole windows of a stream (detrend, taper, zero-phase filtering).
//!
//! Windows are counted in samples from the start of a segment, so they fall in the same place
//! however the stream is split into chunks; the last, shorter window of a segment is processed
//! when the segment ends (a gap that restarts the stream, or the end of input).

use super::rows::map_rows;
use super::stream::{Kernel, KernelFactory};
use super::ConfigError;
use crate::model::SampleRate;
use ndarray::{Array2, ArrayView2};
use std::sync::Arc;

/// A transform of one window of one channel (`x` and `y` have the same length).
pub trait WindowFn: Send + Sync {
    fn apply(&self, x: &[f32], y: &mut [f32]);
}

/// Buffers each channel until a window is complete, then applies `f`.
pub struct Windowed<W> {
    f: Arc<W>,
    len: usize,
    buffers: Vec<Vec<f32>>,
}

impl<W: WindowFn> Windowed<W> {
    pub fn new(f: Arc<W>, len: usize, channels: usize) -> Self {
        Windowed {
            f,
            len: len.max(1),
            buffers: vec![Vec::new(); channels],
        }
    }

    /// Applies `f` to the first `n` buffered samples of each channel, in windows of `len`.
    fn release(&mut self, input: ArrayView2<f32>, n: usize) -> Array2<f32> {
        let (f, len) = (&self.f, self.len);
        map_rows(&mut self.buffers, input, n, |buf, x, y| {
            buf.extend_from_slice(x);
            for (xw, yw) in buf[..n].chunks(len).zip(y.chunks_mut(len)) {
                f.apply(xw, yw);
            }
            buf.drain(..n);
        })
    }
}

impl<W: WindowFn> Kernel for Windowed<W> {
    fn push(&mut self, input: ArrayView2<f32>) -> Array2<f32> {
        let held = self.buffers.first().map_or(0, Vec::len) + input.ncols();
        let n = held / self.len * self.len;
        self.release(input, n)
    }

    fn finish(&mut self) -> Array2<f32> {
        let held = self.buffers.first().map_or(0, Vec::len);
        let empty = Array2::zeros((self.buffers.len(), 0));
        self.release(empty.view(), held)
    }
}

/// Makes [`Windowed`] kernels of a window given in seconds, for a window function that may
/// depend on the stream's rate.
pub struct WindowedFactory<W> {
    window_s: f64,
    make: Box<dyn Fn(SampleRate) -> Result<Arc<W>, String> + Send>,
}

impl<W: WindowFn> WindowedFactory<W> {
    /// Refuses a window that is not a positive, finite number of seconds.
    pub fn new(
        window_s: f64,
        make: impl Fn(SampleRate) -> Result<Arc<W>, String> + Send + 'static,
    ) -> Result<Self, ConfigError> {
        if !(window_s > 0.0 && window_s.is_finite()) {
            return Err(ConfigError::invalid(
                "window_s",
                format!("must be a positive number of seconds, got {window_s}"),
            ));
        }
        Ok(WindowedFactory {
            window_s,
            make: Box::new(make),
        })
    }
}

impl<W: WindowFn> KernelFactory for WindowedFactory<W> {
    type Kernel = Windowed<W>;

    fn start(&self, n_channels: usize, rate: SampleRate) -> Result<Windowed<W>, String> {
        let len = (self.window_s * rate.hz()).round();
        if !(1.0..1e12).contains(&len) {
            return Err(format!(
                "a window of {} s at {} Hz is not a usable number of samples",
                self.window_s,
                rate.hz()
            ));
        }
        Ok(Windowed::new((self.make)(rate)?, len as usize, n_channels))
    }
}
