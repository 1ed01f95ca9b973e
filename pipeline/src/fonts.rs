//! The system font loader: a [`FontLookup`] over the free CJK fonts installed from Debian
//! packages. This is the one place in the crate that reads files, and the engine never calls
//! it: callers (the worker, `ferrotype process`, tests) pass it in as the run's font lookup,
//! the way they pass watermark images.
//!
//! # Which font renders which OSS `type` (and the Qiniu names mapped onto them)
//!
//! | family | font file (Debian package) | why |
//! |---|---|---|
//! | `wqy-zenhei` | `wqy/wqy-zenhei.ttc` face 0 (fonts-wqy-zenhei) | the font itself |
//! | `wqy-microhei` | `wqy/wqy-microhei.ttc` face 0 (fonts-wqy-microhei) | the font itself |
//! | `droidsansfallback` | `droid/DroidSansFallbackFull.ttf` (fonts-droid-fallback) | the font itself |
//! | `fangzhengheiti` (方正黑体) | `wqy/wqy-zenhei.ttc` | 方正 fonts are not free; Zen Hei is the free Hei (sans) face closest to it |
//! | `fangzhengshusong` (方正书宋) | `arphic/uming.ttc` face 0, AR PL UMing CN (fonts-arphic-uming) | Ming is the free Song (serif) face |
//! | `fangzhengfangsong` (方正仿宋) | `arphic/uming.ttc` face 0 | FangSong is a lighter Song; no free FangSong exists in Debian, UMing is the nearest |
//! | `fangzhengkaiti` (方正楷体) | `arphic/ukai.ttc` face 0, AR PL UKai CN (fonts-arphic-ukai) | the free Kai face |
//!
//! When the preferred file is missing, each family falls back to wqy-zenhei, then to Droid
//! Sans Fallback, so a host with only the three required packages still renders every `type`.
//! Files are read on first use and kept for the life of the loader.

use crate::ops::text::{FontFace, FontFamily, FontLookup};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Where Debian installs fonts.
pub const DEFAULT_FONT_DIR: &str = "/usr/share/fonts";

/// A font file under the font directory and the face to use in it.
const ZENHEI: (&str, u32) = ("truetype/wqy/wqy-zenhei.ttc", 0);
const MICROHEI: (&str, u32) = ("truetype/wqy/wqy-microhei.ttc", 0);
const DROID: (&str, u32) = ("truetype/droid/DroidSansFallbackFull.ttf", 0);
const UMING: (&str, u32) = ("truetype/arphic/uming.ttc", 0);
const UKAI: (&str, u32) = ("truetype/arphic/ukai.ttc", 0);

/// The files to try for `family`, best first.
fn candidates(family: FontFamily) -> [(&'static str, u32); 3] {
    match family {
        FontFamily::WqyZenhei | FontFamily::FangzhengHeiti => [ZENHEI, MICROHEI, DROID],
        FontFamily::WqyMicrohei => [MICROHEI, ZENHEI, DROID],
        FontFamily::DroidSansFallback => [DROID, ZENHEI, MICROHEI],
        FontFamily::FangzhengShusong | FontFamily::FangzhengFangsong => [UMING, ZENHEI, DROID],
        FontFamily::FangzhengKaiti => [UKAI, ZENHEI, DROID],
    }
}

/// A font file's bytes and the face to use in it, once read (`None`: no file found).
type Loaded = OnceLock<Option<(Vec<u8>, u32)>>;

/// Fonts read from a font directory (by default [`DEFAULT_FONT_DIR`]), once per family.
#[derive(Debug)]
pub struct SystemFonts {
    root: PathBuf,
    loaded: [Loaded; 7],
}

impl Default for SystemFonts {
    fn default() -> Self {
        SystemFonts::new(DEFAULT_FONT_DIR)
    }
}

impl SystemFonts {
    /// A loader reading the fonts under `root` (laid out as Debian does).
    pub fn new(root: impl AsRef<Path>) -> SystemFonts {
        SystemFonts {
            root: root.as_ref().to_path_buf(),
            loaded: Default::default(),
        }
    }

    /// One loader for the whole process, so that each font file is read once.
    pub fn shared() -> &'static SystemFonts {
        SystemFonts::shared_at(Path::new(DEFAULT_FONT_DIR))
    }

    /// The process's one loader of the fonts under `root` (a process configures one font
    /// directory, a test binary a few: each is kept for the life of the process).
    pub fn shared_at(root: &Path) -> &'static SystemFonts {
        static SHARED: OnceLock<Mutex<Vec<&'static SystemFonts>>> = OnceLock::new();
        let mut loaders = SHARED
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(loader) = loaders.iter().find(|loader| loader.root == root) {
            return loader;
        }
        let loader: &'static SystemFonts = Box::leak(Box::new(SystemFonts::new(root)));
        loaders.push(loader);
        loader
    }

    /// The file that renders `family` on this host, if any.
    pub fn path_of(&self, family: FontFamily) -> Option<PathBuf> {
        candidates(family)
            .into_iter()
            .map(|(file, _)| self.root.join(file))
            .find(|path| path.is_file())
    }

    fn load(&self, family: FontFamily) -> Option<(Vec<u8>, u32)> {
        candidates(family).into_iter().find_map(|(file, index)| {
            std::fs::read(self.root.join(file))
                .ok()
                .map(|bytes| (bytes, index))
        })
    }
}

impl FontLookup for SystemFonts {
    fn font(&self, family: FontFamily) -> Option<FontFace<'_>> {
        let slot = FontFamily::ALL
            .iter()
            .position(|known| *known == family)
            .and_then(|position| self.loaded.get(position))?;
        slot.get_or_init(|| self.load(family))
            .as_ref()
            .map(|(bytes, index)| FontFace {
                bytes,
                index: *index,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_finds_a_font_and_a_missing_directory_finds_none() {
        let fonts = SystemFonts::default();
        for family in FontFamily::ALL {
            let face = fonts.font(family).unwrap_or_else(|| {
                panic!("{family}: no font; install fonts-wqy-zenhei and the others")
            });
            assert!(face.bytes.len() > 1_000_000, "{family}");
        }
        assert_eq!(
            fonts.path_of(FontFamily::FangzhengKaiti),
            Some(PathBuf::from("/usr/share/fonts/truetype/arphic/ukai.ttc"))
        );
        let nowhere = SystemFonts::new("/nonexistent");
        assert!(nowhere.font(FontFamily::WqyZenhei).is_none());
    }
}
