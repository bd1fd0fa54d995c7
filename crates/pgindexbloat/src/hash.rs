//! Name hashing for the comparison's maps: names are hashed once each, with a
//! fast word-at-a-time hash (the lists are the user's own files, so there is
//! no untrusted input to defend against with SipHash), and the maps are keyed
//! by the precomputed hash.

use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A fast 64-bit hash of a name: FxHash-style word mixing over 8-byte
/// chunks, then a murmur3 finaliser so every bit of the result (the map's
/// bucket bits, its tag bits and our shard bit) depends on every input byte.
pub fn hash_name(name: &str) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let bytes = name.as_bytes();
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(26) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(26) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    // murmur3 fmix64
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A map key: a name with its precomputed [`hash_name`].
#[derive(Clone, Copy, Debug)]
pub struct Key<'a> {
    pub hash: u64,
    pub name: &'a str,
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.name == other.name
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Passes a [`Key`]'s precomputed hash through.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached if something other than a `Key` is hashed: fold it in.
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// `BuildHasher` for maps keyed by [`Key`].
pub type BuildPassThrough = BuildHasherDefault<PassThrough>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_names_hash_differently() {
        let names = ["", "a", "a\0", "public.idx1", "public.idx2", "public.idx10"];
        let mut hashes: Vec<u64> = names.iter().map(|n| hash_name(n)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), names.len());
        assert_eq!(hash_name("public.idx1"), hash_name("public.idx1"));
    }

    #[test]
    fn keys_compare_names() {
        let a = Key { hash: 1, name: "x" };
        assert_eq!(a, Key { hash: 1, name: "x" });
        assert_ne!(a, Key { hash: 1, name: "y" });
    }
}
