//! Qiniu's content hash ("etag"), the `hash` Qiniu clients expect for stored objects.
//!
//! The content is cut into 4 MiB blocks. One block: `0x16 || sha1(data)`; several:
//! `0x96 || sha1(sha1(block1) || sha1(block2) || ...)`; then URL-safe base64 with padding.

use base64::Engine;
use sha1::{Digest, Sha1};

/// The size of a Qiniu block.
pub const QINIU_BLOCK: usize = 4 * 1024 * 1024;
const BLOCK: usize = QINIU_BLOCK;

pub fn qiniu_etag(data: &[u8]) -> String {
    let blocks: Vec<[u8; 20]> = if data.is_empty() {
        vec![Sha1::digest(data).into()]
    } else {
        data.chunks(BLOCK)
            .map(|block| Sha1::digest(block).into())
            .collect()
    };
    qiniu_block_etag(&blocks)
}

/// The etag of content whose blocks have the SHA-1s `blocks` (at least one; the empty content
/// is one empty block).
pub fn qiniu_block_etag(blocks: &[[u8; 20]]) -> String {
    let mut out = Vec::with_capacity(21);
    match blocks {
        [only] => {
            out.push(0x16);
            out.extend_from_slice(only);
        }
        blocks => {
            let mut all = Sha1::new();
            for block in blocks {
                all.update(block);
            }
            out.push(0x96);
            out.extend_from_slice(&all.finalize());
        }
    }
    base64::engine::general_purpose::URL_SAFE.encode(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_content_has_the_published_etag() {
        // Qiniu's documented etag of an empty file.
        assert_eq!(qiniu_etag(b""), "Fto5o-5ea0sNMlW_75VgGJCv2AcJ");
    }

    #[test]
    fn large_content_uses_the_block_prefix() {
        let data = vec![7u8; BLOCK + 1];
        assert!(qiniu_etag(&data).starts_with("l"));
    }
}
