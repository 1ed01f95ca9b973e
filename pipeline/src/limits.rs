//! Size limits, enforced at the three points DESIGN.md names: the bytes of the source, the
//! dimensions in its header (before any pixel is decoded), and the planned geometry of every
//! step (before its buffer is allocated). Checking before allocating is what keeps a 100-byte
//! "decompression bomb" from taking a worker down.

use crate::error::PipelineError;
use serde::{Deserialize, Serialize};

/// The limits one pipeline run must respect. The defaults come from the vendor documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest source object, in bytes (OSS and Qiniu: 20 MiB).
    pub max_source_bytes: usize,
    /// Largest source width or height, in pixels (both vendors: 30,000).
    pub max_side: u32,
    /// Largest source area, in pixels (Qiniu: 150 million).
    pub max_pixels: u64,
    /// Largest area a step may produce (OSS resize: 4096 x 4096).
    pub max_output_pixels: u64,
    /// Largest side a step may produce (OSS resize: 4096 x 4 = 16,384).
    pub max_output_side: u32,
    /// Most GIF frames processed (Qiniu: 200): a GIF to GIF run goes through every frame, and
    /// a source with more is refused as too large.
    pub max_gif_frames: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_source_bytes: 20 * 1024 * 1024,
            max_side: 30_000,
            max_pixels: 150_000_000,
            max_output_pixels: 4096 * 4096,
            max_output_side: 16_384,
            max_gif_frames: 200,
        }
    }
}

/// The largest number of bytes one decoded pixel can take inside a decoder (16-bit RGBA).
const MAX_DECODED_BYTES_PER_PIXEL: u64 = 8;

impl Limits {
    /// Rejects a source whose byte length is over [`Limits::max_source_bytes`].
    pub fn check_source_len(&self, len: usize) -> Result<(), PipelineError> {
        if len > self.max_source_bytes {
            return Err(PipelineError::image_too_large(format!(
                "the source is {len} bytes, over the limit of {} bytes",
                self.max_source_bytes
            )));
        }
        Ok(())
    }

    /// Rejects source dimensions (read from the header) over the side or area limits.
    pub fn check_source_dimensions(&self, width: u32, height: u32) -> Result<(), PipelineError> {
        if width > self.max_side || height > self.max_side {
            return Err(PipelineError::image_too_large(format!(
                "the source is {width}x{height}, over the limit of {} px per side",
                self.max_side
            )));
        }
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels {
            return Err(PipelineError::image_too_large(format!(
                "the source is {width}x{height} ({pixels} px), over the limit of {} px",
                self.max_pixels
            )));
        }
        Ok(())
    }

    /// Rejects a planned result of `action` over the output side or area limits.
    pub fn check_output_dimensions(
        &self,
        action: &str,
        width: u32,
        height: u32,
    ) -> Result<(), PipelineError> {
        let pixels = u64::from(width) * u64::from(height);
        if width > self.max_output_side
            || height > self.max_output_side
            || pixels > self.max_output_pixels
        {
            return Err(PipelineError::image_too_large(format!(
                "{action}: the result would be {width}x{height}, over the limits of {} px per \
                 side and {} px in total",
                self.max_output_side, self.max_output_pixels
            )));
        }
        Ok(())
    }

    /// The allocation budget handed to the decoders, a second line of defence behind the
    /// header check: the largest allowed source at the widest pixel layout a decoder uses.
    pub fn decoder_alloc_budget(&self) -> u64 {
        self.max_pixels.saturating_mul(MAX_DECODED_BYTES_PER_PIXEL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn defaults_match_the_vendor_documents() {
        let limits = Limits::default();
        assert_eq!(limits.max_source_bytes, 20_971_520);
        assert_eq!(limits.max_side, 30_000);
        assert_eq!(limits.max_pixels, 150_000_000);
        assert_eq!(limits.max_output_pixels, 16_777_216);
        assert_eq!(limits.max_output_side, 16_384);
        assert_eq!(limits.max_gif_frames, 200);
    }

    #[test]
    fn each_check_rejects_just_past_its_limit() {
        let limits = Limits::default();
        assert!(limits.check_source_len(20 * 1024 * 1024).is_ok());
        assert_eq!(
            limits
                .check_source_len(20 * 1024 * 1024 + 1)
                .map_err(|e| e.code),
            Err(ErrorCode::ImageTooLarge)
        );
        assert!(limits.check_source_dimensions(30_000, 5_000).is_ok());
        assert!(limits.check_source_dimensions(30_001, 1).is_err());
        assert!(limits.check_source_dimensions(15_000, 10_001).is_err());
        assert!(limits.check_output_dimensions("resize", 4096, 4096).is_ok());
        assert!(limits
            .check_output_dimensions("resize", 16_384, 1024)
            .is_ok());
        assert!(limits.check_output_dimensions("resize", 16_385, 1).is_err());
        let error = limits
            .check_output_dimensions("resize", 4097, 4096)
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::ImageTooLarge);
        assert!(error.message.starts_with("resize: "), "{}", error.message);
    }

    #[test]
    fn missing_fields_take_their_defaults_when_deserialized() {
        let limits: Limits = serde_json::from_str(r#"{"max_side": 100}"#).unwrap();
        assert_eq!(limits.max_side, 100);
        assert_eq!(limits.max_pixels, Limits::default().max_pixels);
    }
}
