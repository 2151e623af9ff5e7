//! A keyed pseudo-random permutation of `0..n`, computed one index at a time.
//!
//! This is how a plan of 65 million probes is put in a spread-out order in
//! constant memory: probe `i` of the scan is probe `permute(i)` of the plan.
//! It is a balanced Feistel network over the smallest even number of bits
//! that holds `n`, with cycle-walking to stay below `n` (the construction
//! masscan's "blackrock" uses for the same job). It is not cryptographic; it
//! only has to be a bijection, cheap, and reproducible from a seed.
//!
//! Invariant: for every seed and `n`, `permute` is a bijection on `0..n`
//! (property-tested below).

/// A permutation of `0..n`.
#[derive(Debug, Clone)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; 4],
}

fn mix(mut z: u64) -> u64 {
    // splitmix64's finalizer: a fast, well-distributed 64-bit mixer.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Permutation {
    /// The permutation of `0..n` for `seed`.
    pub fn new(n: u64, seed: u64) -> Self {
        let bits = 64 - n.saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let mut keys = [0u64; 4];
        let mut s = seed;
        for k in &mut keys {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            *k = mix(s);
        }
        Self { n, half_bits, keys }
    }

    fn round(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut l, mut r) = (x >> self.half_bits, x & mask);
        for k in self.keys {
            let f = mix(r ^ k) & mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half_bits) | r
    }

    /// The image of `i` (`i < n`).
    pub fn permute(&self, i: u64) -> u64 {
        if self.n <= 1 {
            return i;
        }
        // Cycle-walk: the Feistel domain is at most 4n, so on average fewer
        // than four rounds land back in `0..n`; it always terminates because
        // the walk follows the cycle of a bijection that contains `i`.
        let mut x = self.round(i);
        while x >= self.n {
            x = self.round(x);
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn is_a_bijection(n in 0u64..3000, seed in any::<u64>()) {
            let p = Permutation::new(n, seed);
            let mut seen = vec![false; usize::try_from(n).expect("small n")];
            for i in 0..n {
                let j = usize::try_from(p.permute(i)).expect("small");
                prop_assert!(!seen[j], "{} hit twice", j);
                seen[j] = true;
            }
        }
    }

    #[test]
    fn seeds_give_different_orders() {
        let a: Vec<u64> = (0..100).map(|i| Permutation::new(100, 1).permute(i)).collect();
        let b: Vec<u64> = (0..100).map(|i| Permutation::new(100, 2).permute(i)).collect();
        assert_ne!(a, b);
    }
}
