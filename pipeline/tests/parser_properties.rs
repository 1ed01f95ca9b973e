//! Parser robustness: every parser (OSS, OSS old API, Qiniu, canonical) on random strings and
//! on random mutations of valid processing strings. Whatever the input, a parser answers
//! `Ok` or `Err` and never panics; and whatever it accepts renders to a canonical form that
//! reads back as the same pipeline (`parse(render(ast)) == ast`), the property the result
//! cache relies on.
//!
//! The case counts keep the whole file to a few seconds; raise `PROPTEST_CASES` locally to
//! search longer.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test crate: a panic is a failed test

use pipeline::parse::oss::legacy as oss_legacy;
use pipeline::parse::{oss, parse_canonical, qiniu};
use pipeline::{NoStyles, Pipeline};
use proptest::prelude::*;

/// Valid strings of every dialect: the seeds the mutations start from.
const SEEDS: &[&str] = &[
    "image/resize,w_100",
    "image/resize,m_fill,w_300,h_300/format,png/quality,Q_80/interlace,1|sys/saveas,o_dGVzdC5qcGc,b_dGVzdA",
    "image/resize,m_pad,w_100,h_100,color_FF0000/quality,q_90/format,webp",
    "image/resize,l_100,s_50/format,gif",
    "image/resize,p_50/resize,w_10",
    "video/snapshot,t_7000,f_jpg,w_800,h_600,m_fast",
    "video/snapshot,t_0,f_png,ar_auto|sys/saveas,o_YQ",
    "@100w_100h_1e_1c_90Q.png",
    "@100w_4e_10-20-30bgc|50p_1l|90r|80q.src|sys/saveas,o_YQ",
    "@!thumb",
    "imageMogr2/auto-orient/thumbnail/!75p/gravity/SouthEast/crop/!300x300a30-100/rotate/45/blur/3x5/format/png/quality/80!/interlace/1",
    "imageMogr2/thumbnail/200x300>|imageView2/2/w/10/h/20/q/80!|saveas/YjprLmpwZw",
    "imageMogr2/thumbnail/350000@/size-limit/15k!;imageMogr2/thumbnail/x467",
    "imageView2/1/w/200/format/png/interlace/1/ignore-error/1",
    "watermark/1/image/Yjpsb2dvLnBuZw/dissolve/50/gravity/North/dx/20/dy/5/ws/0.25",
    "vframe/jpg/offset/7/w/480/h/360/rotate/90|imageMogr2/thumbnail/100x",
    "vframe/png/offset/1.25/rotate/auto",
    "imageInfo",
    "image/frame,t_1,m_fast,ar_auto,end_last/resize,w_5000,limit_0/quality,adaptive_75/size-limit,b_100",
    "image/scale,area_350000/crop,w_300,h_300,g_se,dx_30,dy_-100/view,m_1,w_200/format,gif-from-any",
];

/// Characters the languages give meaning to, plus a few that they do not.
const ALPHABET: &[char] = &[
    '/', ',', '_', '|', ';', '@', '!', '.', '%', '=', '+', '-', '^', '<', '>', 'x', 'a', 'p', 'r',
    'w', 'h', 'e', 'c', 'l', 'q', 'Q', 't', 'm', 'f', '0', '1', '2', '9', ' ', 'é', '\0',
];

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(3000),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Checks that `pipeline` survives the canonical round trip.
fn round_trips(input: &str, pipeline: &Pipeline) -> Result<(), TestCaseError> {
    let rendered = pipeline.to_string();
    let reparsed = parse_canonical(&rendered).map_err(|error| {
        TestCaseError::fail(format!("{input:?} -> {rendered:?} does not parse: {error}"))
    })?;
    prop_assert_eq!(&reparsed, pipeline, "{:?} -> {:?}", input, rendered);
    prop_assert_eq!(reparsed.to_string(), rendered);
    Ok(())
}

/// Runs every parser on `text`; whatever parses must round-trip.
fn check_all(text: &str) -> Result<(), TestCaseError> {
    if let Ok(command) = oss::parse_process(text, &NoStyles) {
        round_trips(text, &command.pipeline)?;
    }
    if let Some(legacy) = text.strip_prefix('@') {
        if let Ok(pipeline) = oss_legacy::parse(legacy, &NoStyles) {
            round_trips(text, &pipeline)?;
        }
    }
    if let Ok(pipeline) = oss_legacy::parse(text, &NoStyles) {
        round_trips(text, &pipeline)?;
    }
    if let Ok(commands) = qiniu::parse_fops(text) {
        for command in &commands {
            round_trips(text, &command.pipeline)?;
        }
    }
    if let Ok(pipeline) = parse_canonical(text) {
        round_trips(text, &pipeline)?;
    }
    Ok(())
}

/// One edit of a string: at a position (taken modulo the length), delete, insert, replace or
/// duplicate a stretch.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
    Replace(usize, char),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let symbol = prop::sample::select(ALPHABET);
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), symbol.clone()).prop_map(|(at, c)| Edit::Insert(at, c)),
        (any::<usize>(), symbol).prop_map(|(at, c)| Edit::Replace(at, c)),
        (any::<usize>(), 1usize..12).prop_map(|(at, len)| Edit::Duplicate(at, len)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(seed: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for edit in edits {
        let len = chars.len();
        match *edit {
            Edit::Delete(at) if len > 0 => {
                chars.remove(at % len);
            }
            Edit::Insert(at, c) => chars.insert(at % (len + 1), c),
            Edit::Replace(at, c) if len > 0 => chars[at % len] = c,
            Edit::Duplicate(at, stretch) if len > 0 => {
                let start = at % len;
                let end = (start + stretch).min(len);
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(end..end, copy);
            }
            Edit::Truncate(at) if len > 0 => chars.truncate(at % len),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_strings_never_panic(text in "\\PC{0,80}") {
        check_all(&text)?;
    }

    #[test]
    fn strings_over_the_languages_alphabet_never_panic(
        chars in prop::collection::vec(prop::sample::select(ALPHABET), 0..60)
    ) {
        let text: String = chars.into_iter().collect();
        check_all(&text)?;
        check_all(&format!("image/{text}"))?;
        check_all(&format!("imageMogr2/{text}"))?;
        check_all(&format!("@{text}"))?;
    }

    #[test]
    fn mutated_valid_strings_never_panic_and_round_trip(
        seed in prop::sample::select(SEEDS),
        edits in prop::collection::vec(edit(), 0..6),
    ) {
        check_all(&apply(seed, &edits))?;
    }
}

#[test]
fn every_seed_is_accepted_by_some_parser() {
    for seed in SEEDS {
        let accepted = oss::parse_process(seed, &NoStyles).is_ok()
            || qiniu::parse_fops(seed).is_ok()
            || parse_canonical(seed).is_ok()
            || seed.starts_with("@!");
        assert!(accepted, "{seed}");
    }
}
