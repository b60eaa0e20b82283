//! A small seeded random number generator (xorshift64*) for the generated-profile tests:
//! deterministic across runs and machines, no dependency.

/// xorshift64*: small, seeded, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// Log-uniform-ish in [lo, hi]: small and large sizes both show up.
    pub fn spread(&mut self, lo: u64, hi: u64) -> u64 {
        let lo_f = (lo.max(1) as f64).ln();
        let hi_f = (hi as f64).ln();
        let x = lo_f + (hi_f - lo_f) * (self.below(1 << 30) as f64 / (1u64 << 30) as f64);
        (x.exp() as u64).clamp(lo, hi)
    }
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}
