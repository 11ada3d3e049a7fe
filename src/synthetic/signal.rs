//! Deterministic, realistic-looking seismic signals for demos, benchmarks and tests.
//!
//! A channel is a slow random walk (instrument drift and long-period noise) plus broadband noise
//! plus occasional transients (decaying oscillations, like local events). With the default
//! amplitudes Steim2 compresses it to about 1.5 bytes per sample, which is what broadband
//! stations produce in practice, so benchmarks see realistic frame packings.

/// Parameters of [`channel`].
#[derive(Debug, Clone)]
pub struct NoiseModel {
    /// Standard deviation of the broadband noise, in counts.
    pub noise: f64,
    /// Step size of the random walk, in counts.
    pub walk: f64,
    /// Mean number of transients per hour.
    pub events_per_hour: f64,
    /// Peak amplitude of a transient, in counts.
    pub event_amplitude: f64,
}

impl Default for NoiseModel {
    fn default() -> Self {
        NoiseModel {
            noise: 85.0,
            walk: 30.0,
            events_per_hour: 4.0,
            event_amplitude: 200_000.0,
        }
    }
}

/// xorshift64*: small, fast and reproducible across platforms.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately standard normal (sum of four uniforms, rescaled): cheap and bounded.
    pub fn normal(&mut self) -> f64 {
        let s: f64 = (0..4).map(|_| self.uniform()).sum();
        (s - 2.0) * (3.0f64).sqrt()
    }
}

/// One channel's signal, sample by sample: for streams that never end.
pub struct Generator {
    rng: Rng,
    walk: f64,
    p_event: f64,
    rate: f64,
    model: NoiseModel,
    /// Active transients: (amplitude, phase step, decay per sample, phase)
    events: Vec<(f64, f64, f64, f64)>,
}

impl Generator {
    pub fn new(rate: f64, seed: u64, model: &NoiseModel) -> Self {
        Generator {
            rng: Rng::new(seed),
            walk: 0.0,
            p_event: model.events_per_hour / (3600.0 * rate),
            rate,
            model: model.clone(),
            events: Vec::new(),
        }
    }

    /// The next sample, in counts.
    pub fn next_sample(&mut self) -> i32 {
        let (rng, model, rate) = (&mut self.rng, &self.model, self.rate);
        self.walk += model.walk * rng.normal();
        self.walk *= 0.9995; // keep the walk bounded
        if rng.uniform() < self.p_event {
            let freq = 1.0 + 9.0 * rng.uniform();
            let decay = (-1.0 / (rate * (2.0 + 10.0 * rng.uniform()))).exp();
            self.events.push((
                model.event_amplitude * (0.2 + rng.uniform()),
                2.0 * std::f64::consts::PI * freq / rate,
                decay,
                0.0,
            ));
        }
        let mut v = self.walk + model.noise * rng.normal();
        for e in self.events.iter_mut() {
            v += e.0 * e.3.sin();
            e.3 += e.1;
            e.0 *= e.2;
        }
        self.events.retain(|e| e.0.abs() > 1.0);
        v.round().clamp(-(1 << 27) as f64, (1 << 27) as f64) as i32
    }
}

/// `n` samples of one channel at `rate` Hz.
pub fn channel(n: usize, rate: f64, seed: u64, model: &NoiseModel) -> Vec<i32> {
    let mut g = Generator::new(rate, seed, model);
    (0..n).map(|_| g.next_sample()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_and_bounded() {
        let a = channel(10_000, 100.0, 7, &NoiseModel::default());
        let b = channel(10_000, 100.0, 7, &NoiseModel::default());
        assert_eq!(a, b);
        assert!(a.iter().all(|x| x.abs() < 1 << 27));
        assert_ne!(a, channel(10_000, 100.0, 8, &NoiseModel::default()));
    }
}
