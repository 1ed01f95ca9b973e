//! Value syntaxes several Qiniu commands share: `quality/80` and `80!`, and the gravity
//! names `NorthWest` ... `SouthEast`.

use crate::error::PipelineError;
use crate::ops::gravity::Gravity;
use crate::ops::quality::{Quality, QUALITY_RANGE};
use crate::parse::lex::integer_in;

/// Qiniu's names of the nine anchors, row by row.
const GRAVITY_NAMES: [(&str, Gravity); 9] = [
    ("NorthWest", Gravity::NorthWest),
    ("North", Gravity::North),
    ("NorthEast", Gravity::NorthEast),
    ("West", Gravity::West),
    ("Center", Gravity::Center),
    ("East", Gravity::East),
    ("SouthWest", Gravity::SouthWest),
    ("South", Gravity::South),
    ("SouthEast", Gravity::SouthEast),
];

/// A gravity argument (case as documented), with an error naming `action`.
pub(super) fn gravity(action: &str, name: &str) -> Result<Gravity, PipelineError> {
    GRAVITY_NAMES
        .iter()
        .find_map(|(known, gravity)| (*known == name).then_some(*gravity))
        .ok_or_else(|| {
            PipelineError::invalid_argument(format!(
                "{action}: '{name}' is not a gravity (NorthWest, North, NorthEast, West, Center, \
                 East, SouthWest, South, SouthEast)"
            ))
        })
}

/// imageMogr2's `gravity`, which only places crops: the grid's names and `Face`
/// (Ferrotype's extension: the crop keeps the faces, [`crate::ops::faces::focus`]).
pub(super) fn crop_gravity(action: &str, name: &str) -> Result<Gravity, PipelineError> {
    if name == "Face" {
        return Ok(Gravity::Face);
    }
    gravity(action, name).map_err(|_| {
        PipelineError::invalid_argument(format!(
            "{action}: '{name}' is not a gravity (NorthWest, North, NorthEast, West, Center, \
             East, SouthWest, South, SouthEast, Face)"
        ))
    })
}

/// `80` is adaptive (capped by Qiniu's correction), `80!` forced.
pub(super) fn quality(action: &str, value: &str) -> Result<Quality, PipelineError> {
    let (digits, forced) = match value.strip_suffix('!') {
        Some(digits) => (digits, true),
        None => (value, false),
    };
    let number = integer_in(action, value, digits, QUALITY_RANGE)?;
    let number = u8::try_from(number).unwrap_or(100);
    Ok(if forced {
        Quality::Forced(number)
    } else {
        Quality::Adaptive(number)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gravity_has_one_name_in_the_documented_case() {
        for gravity in Gravity::ALL {
            let names: Vec<&str> = GRAVITY_NAMES
                .iter()
                .filter(|(_, named)| *named == gravity)
                .map(|(name, _)| *name)
                .collect();
            let [name] = names.as_slice() else {
                panic!("{gravity:?}: {names:?}")
            };
            assert_eq!(super::gravity("t", name), Ok(gravity));
        }
        assert!(super::gravity("t", "northwest").is_err());
    }
}
