//! `gravity`: the anchor an offset is measured from, shared by crop and watermark.
//!
//! Both vendors use the nine points of a 3x3 grid: Qiniu names them `NorthWest` ... `SouthEast`
//! (and `Center`, read by [`crate::parse::qiniu`]), OSS `nw` ... `se` (and `center`), which the
//! canonical form writes too ([`Gravity::name`]). [`Gravity::origin`] places a box of a given
//! size inside a container at the anchor; offsets are then added by the caller.
//!
//! Rounding: a centred box starts at `(container - box) / 2` rounded down, so a 300 px box in a
//! 427 px side starts at 63 (ImageMagick's rule, which Qiniu runs).
//!
//! [`Gravity::Face`] (`face`; Qiniu `Face`) is Ferrotype's extension, for crops only: the box
//! is planned as centred, then placed around the faces when the pixels are there
//! ([`crate::ops::faces::focus`]). Watermarks do not take it.

use std::fmt;

/// The canonical (and OSS) names, as error messages list them.
pub(crate) const NAMES: &str = "nw, north, ne, west, center, east, sw, south, se";

/// The names a crop takes: the grid's and `face`.
pub(crate) const CROP_NAMES: &str = "nw, north, ne, west, center, east, sw, south, se, face";

/// One of the nine anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Gravity {
    /// Top left (both vendors' default for crop).
    #[default]
    NorthWest,
    /// Top centre.
    North,
    /// Top right.
    NorthEast,
    /// Middle left.
    West,
    /// The centre.
    Center,
    /// Middle right.
    East,
    /// Bottom left.
    SouthWest,
    /// Bottom centre.
    South,
    /// Bottom right.
    SouthEast,
    /// Around the faces (crops only; planned as the centre).
    Face,
}

impl Gravity {
    /// All anchors, row by row.
    pub const ALL: [Gravity; 9] = [
        Gravity::NorthWest,
        Gravity::North,
        Gravity::NorthEast,
        Gravity::West,
        Gravity::Center,
        Gravity::East,
        Gravity::SouthWest,
        Gravity::South,
        Gravity::SouthEast,
    ];

    /// The canonical form's name (`nw`, ..., `center`), which is OSS's.
    pub fn name(self) -> &'static str {
        match self {
            Gravity::NorthWest => "nw",
            Gravity::North => "north",
            Gravity::NorthEast => "ne",
            Gravity::West => "west",
            Gravity::Center => "center",
            Gravity::East => "east",
            Gravity::SouthWest => "sw",
            Gravity::South => "south",
            Gravity::SouthEast => "se",
            Gravity::Face => "face",
        }
    }

    /// Reads a canonical (and OSS) name.
    pub fn from_name(name: &str) -> Option<Gravity> {
        Gravity::ALL
            .into_iter()
            .find(|gravity| gravity.name() == name)
    }

    /// Reads a name a crop takes: the grid's or `face`.
    pub fn from_crop_name(name: &str) -> Option<Gravity> {
        match name {
            "face" => Some(Gravity::Face),
            _ => Gravity::from_name(name),
        }
    }

    /// Column: 0 left, 1 centre, 2 right.
    fn column(self) -> u8 {
        match self {
            Gravity::NorthWest | Gravity::West | Gravity::SouthWest => 0,
            Gravity::North | Gravity::Center | Gravity::South | Gravity::Face => 1,
            Gravity::NorthEast | Gravity::East | Gravity::SouthEast => 2,
        }
    }

    /// Row: 0 top, 1 middle, 2 bottom.
    fn row(self) -> u8 {
        match self {
            Gravity::NorthWest | Gravity::North | Gravity::NorthEast => 0,
            Gravity::West | Gravity::Center | Gravity::East | Gravity::Face => 1,
            Gravity::SouthWest | Gravity::South | Gravity::SouthEast => 2,
        }
    }

    /// Whether the anchor is on the right edge (offsets then count leftwards in OSS and in
    /// Qiniu's watermark).
    pub fn is_right(self) -> bool {
        self.column() == 2
    }

    /// Whether the anchor is on the bottom edge.
    pub fn is_bottom(self) -> bool {
        self.row() == 2
    }

    /// The top-left corner of a `size` box placed at this anchor in a `container`. May be
    /// negative when the box is larger than the container.
    pub fn origin(self, container: (u32, u32), size: (u32, u32)) -> (i64, i64) {
        let place = |slot: u8, outer: u32, inner: u32| -> i64 {
            let free = i64::from(outer) - i64::from(inner);
            match slot {
                0 => 0,
                1 => free.div_euclid(2),
                _ => free,
            }
        };
        (
            place(self.column(), container.0, size.0),
            place(self.row(), container.1, size.1),
        )
    }
}

impl fmt::Display for Gravity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for gravity in Gravity::ALL {
            assert_eq!(Gravity::from_name(gravity.name()), Some(gravity));
        }
    }

    #[test]
    fn origins_of_a_300_box_on_the_640x427_gopher() {
        let table = [
            (Gravity::NorthWest, (0, 0)),
            (Gravity::North, (170, 0)),
            (Gravity::NorthEast, (340, 0)),
            (Gravity::West, (0, 63)),
            (Gravity::Center, (170, 63)),
            (Gravity::East, (340, 63)),
            (Gravity::SouthWest, (0, 127)),
            (Gravity::South, (170, 127)),
            (Gravity::SouthEast, (340, 127)),
        ];
        for (gravity, origin) in table {
            assert_eq!(
                gravity.origin((640, 427), (300, 300)),
                origin,
                "{gravity:?}"
            );
        }
    }
}
