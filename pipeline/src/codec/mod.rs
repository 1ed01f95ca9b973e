//! Bytes to pixels and back.
//!
//! [`decode`] sniffs the format from the content (never from the key), checks the header
//! dimensions against the [`crate::Limits`] before any pixel is decoded, and produces a
//! [`Raster`]. [`encode`] writes a [`Raster`] in an output format. Between the two, every
//! operation works on a [`Raster`]: 8-bit RGB for opaque images, 8-bit RGBA when there is
//! transparency, never anything wider (DESIGN.md: "Stay in 8-bit RGB/RGBA buffers").
//!
//! The codecs' vocabulary lives here too, and the languages above use it: [`ImageFormat`]
//! (what a source is, sniffed from its bytes, and what a result is written as) and [`Rgb`].
//! [`jpeg`] is the libjpeg-turbo fast path and the JPEG header walking (EXIF orientation,
//! quantization tables, start-of-frame, end of image); [`gif`] runs animations frame by frame;
//! [`heif`] reads and writes AVIF and HEIC through libheif; [`psd`] reads Photoshop's
//! composite image; [`tiff`] reads the TIFF kinds the `image` crate does not;
//! [`guard`] runs the third-party decoders so that their panics are quiet decode failures;
//! [`colour`] converts what a source's ICC profile describes (and CMYK) to sRGB; [`embed`]
//! writes a result's EXIF and ICC profile into the JPEG and WebP files the encoders make.

pub mod colour;
pub mod decode;
pub mod embed;
pub mod encode;
mod format;
pub mod gif;
pub mod guard;
pub mod heif;
pub mod jpeg;
pub mod psd;
pub mod tiff;

pub use format::ImageFormat;

use crate::error::PipelineError;
use std::fmt;

/// An RGB colour, written as six hex digits (`FF0000`) in both vendors' languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb {
    /// Red, 0-255.
    pub r: u8,
    /// Green, 0-255.
    pub g: u8,
    /// Blue, 0-255.
    pub b: u8,
}

impl Rgb {
    /// White, the vendors' default fill colour.
    pub const WHITE: Rgb = Rgb {
        r: 255,
        g: 255,
        b: 255,
    };

    /// Reads `RRGGBB` (either letter case); `None` for anything else.
    pub fn from_hex(text: &str) -> Option<Rgb> {
        if text.len() != 6 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |range| u8::from_str_radix(text.get(range)?, 16).ok();
        Some(Rgb {
            r: channel(0..2)?,
            g: channel(2..4)?,
            b: channel(4..6)?,
        })
    }

    /// The pixel as `[r, g, b]`.
    pub fn to_array(self) -> [u8; 3] {
        [self.r, self.g, self.b]
    }
}

impl fmt::Display for Rgb {
    /// Upper-case `RRGGBB`, as the OSS documentation writes colours.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}{:02X}{:02X}", self.r, self.g, self.b)
    }
}

/// How the bytes of a [`Raster`] are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelLayout {
    /// 3 bytes per pixel: red, green, blue.
    Rgb8,
    /// 4 bytes per pixel: red, green, blue, straight (not premultiplied) alpha.
    Rgba8,
}

impl PixelLayout {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelLayout::Rgb8 => 3,
            PixelLayout::Rgba8 => 4,
        }
    }

    /// Whether the layout has an alpha channel.
    pub fn has_alpha(self) -> bool {
        matches!(self, PixelLayout::Rgba8)
    }
}

/// A decoded image: rows top to bottom, pixels left to right, no padding.
///
/// The constructor guarantees `data.len() == width * height * bytes_per_pixel`, so code that
/// holds a `Raster` can index rows without re-checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raster {
    width: u32,
    height: u32,
    layout: PixelLayout,
    data: Vec<u8>,
}

impl Raster {
    /// Wraps pixel bytes, checking that their length matches the geometry.
    pub fn new(
        width: u32,
        height: u32,
        layout: PixelLayout,
        data: Vec<u8>,
    ) -> Result<Raster, PipelineError> {
        let expected = byte_len(width, height, layout);
        if width == 0 || height == 0 || Some(data.len()) != expected {
            return Err(PipelineError::internal(format!(
                "a {width}x{height} {layout:?} image needs {expected:?} bytes, got {}",
                data.len()
            )));
        }
        Ok(Raster {
            width,
            height,
            layout,
            data,
        })
    }

    /// An image of one opaque colour, in the given layout. Callers check the geometry against
    /// the limits first; this allocates `width * height * bytes_per_pixel` bytes.
    pub fn filled(width: u32, height: u32, layout: PixelLayout, colour: Rgb) -> Raster {
        let pixel: &[u8] = match layout {
            PixelLayout::Rgb8 => &[colour.r, colour.g, colour.b],
            PixelLayout::Rgba8 => &[colour.r, colour.g, colour.b, 255],
        };
        let pixels = width as usize * height as usize;
        Raster {
            width,
            height,
            layout,
            data: pixel.repeat(pixels),
        }
    }

    /// Width in pixels (at least 1).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (at least 1).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// `(width, height)`.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The pixel layout.
    pub fn layout(&self) -> PixelLayout {
        self.layout
    }

    /// The pixel bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The pixel bytes, for in-place edits that keep the geometry.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.width as usize * self.layout.bytes_per_pixel()
    }

    /// The bytes of the pixel at (x, y), or `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<&[u8]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let size = self.layout.bytes_per_pixel();
        let start = y as usize * self.stride() + x as usize * size;
        self.data.get(start..start + size)
    }

    /// Whether any pixel is not fully opaque (always false for RGB).
    pub fn has_transparency(&self) -> bool {
        self.layout.has_alpha()
            && self
                .data
                .chunks_exact(4)
                .any(|pixel| matches!(pixel, [_, _, _, alpha] if *alpha != 255))
    }

    /// The same image without an alpha channel: transparent pixels are blended onto
    /// `background`. Used for formats without alpha (JPEG), where both vendors fill
    /// transparency with white, and to drop an alpha channel that is fully opaque.
    pub fn flatten(&self, background: Rgb) -> Raster {
        if !self.layout.has_alpha() {
            return self.clone();
        }
        let background = background.to_array();
        let mut data = Vec::with_capacity(self.width as usize * self.height as usize * 3);
        for pixel in self.data.chunks_exact(4) {
            if let [red, green, blue, alpha] = *pixel {
                let alpha = u32::from(alpha);
                for (channel, back) in [red, green, blue].into_iter().zip(background) {
                    let blended =
                        (u32::from(channel) * alpha + u32::from(back) * (255 - alpha) + 127) / 255;
                    data.push(blended as u8);
                }
            }
        }
        Raster {
            width: self.width,
            height: self.height,
            layout: PixelLayout::Rgb8,
            data,
        }
    }

    /// Copies `other` into this image with its top-left corner at (x, y). Both must have the
    /// same layout and `other` must fit; the caller (pad planning) guarantees both.
    pub fn paste(&mut self, other: &Raster, x: u32, y: u32) -> Result<(), PipelineError> {
        let fits = other.layout == self.layout
            && u64::from(x) + u64::from(other.width) <= u64::from(self.width)
            && u64::from(y) + u64::from(other.height) <= u64::from(self.height);
        if !fits {
            return Err(PipelineError::internal(format!(
                "cannot place a {}x{} image at ({x}, {y}) on a {}x{} canvas",
                other.width, other.height, self.width, self.height
            )));
        }
        let size = self.layout.bytes_per_pixel();
        let self_stride = self.stride();
        let row_len = other.stride();
        for (row, source) in other.data.chunks_exact(row_len).enumerate() {
            let start = (y as usize + row) * self_stride + x as usize * size;
            if let Some(target) = self.data.get_mut(start..start + row_len) {
                target.copy_from_slice(source);
            }
        }
        Ok(())
    }

    /// Gives up the pixel bytes.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }
}

/// `width * height * bytes_per_pixel`, or `None` if it overflows `usize`.
fn byte_len(width: u32, height: u32, layout: PixelLayout) -> Option<usize> {
    (width as usize)
        .checked_mul(height as usize)?
        .checked_mul(layout.bytes_per_pixel())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_read_and_render_as_six_hex_digits() {
        assert_eq!(Rgb::from_hex("FF0000"), Some(Rgb { r: 255, g: 0, b: 0 }));
        assert_eq!(
            Rgb::from_hex("00ff7f"),
            Some(Rgb {
                r: 0,
                g: 255,
                b: 127
            })
        );
        for bad in ["", "FFF", "FF00000", "GG0000", "+F0000", "ＦＦ00"] {
            assert_eq!(Rgb::from_hex(bad), None, "{bad}");
        }
        assert_eq!(
            Rgb {
                r: 0,
                g: 255,
                b: 127
            }
            .to_string(),
            "00FF7F"
        );
    }

    #[test]
    fn new_rejects_a_buffer_of_the_wrong_length() {
        assert!(Raster::new(2, 2, PixelLayout::Rgb8, vec![0; 12]).is_ok());
        assert!(Raster::new(2, 2, PixelLayout::Rgb8, vec![0; 11]).is_err());
        assert!(Raster::new(0, 2, PixelLayout::Rgb8, vec![]).is_err());
    }

    #[test]
    fn flatten_blends_onto_the_background() {
        let raster = Raster::new(
            3,
            1,
            PixelLayout::Rgba8,
            vec![0, 0, 0, 0, 0, 0, 0, 255, 200, 0, 0, 128],
        )
        .unwrap();
        let flat = raster.flatten(Rgb::WHITE);
        assert_eq!(flat.layout(), PixelLayout::Rgb8);
        assert_eq!(flat.pixel(0, 0), Some(&[255, 255, 255][..]));
        assert_eq!(flat.pixel(1, 0), Some(&[0, 0, 0][..]));
        assert_eq!(flat.pixel(2, 0), Some(&[227, 127, 127][..]));
        assert_eq!(flat.pixel(3, 0), None);
    }

    #[test]
    fn paste_places_rows_and_refuses_what_does_not_fit() {
        let mut canvas = Raster::filled(4, 3, PixelLayout::Rgb8, Rgb::WHITE);
        let dot = Raster::filled(2, 1, PixelLayout::Rgb8, Rgb { r: 1, g: 2, b: 3 });
        canvas.paste(&dot, 2, 2).unwrap();
        assert_eq!(canvas.pixel(2, 2), Some(&[1, 2, 3][..]));
        assert_eq!(canvas.pixel(3, 2), Some(&[1, 2, 3][..]));
        assert_eq!(canvas.pixel(1, 2), Some(&[255, 255, 255][..]));
        assert!(canvas.paste(&dot, 3, 0).is_err());
    }
}
