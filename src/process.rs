//! `ferrotype process INPUT... PIPELINE -o OUTPUT`: the engine alone, on local files.
//!
//! - `-` as the only input reads standard input; `-o -` writes standard output.
//! - Several inputs need an output pattern naming each result: `{stem}` (the input's file name
//!   without its extension) or `{name}` (the whole file name), e.g. `-o 'out/{stem}.webp'`.
//! - A pipeline that names no format takes it from the output's extension (`out.png` is a
//!   PNG); one that names a format the extension contradicts is refused, never written under
//!   the wrong name. An output without a known image extension keeps the source's format.
//! - The limits are the configuration's (`[limits]`, `max_source_bytes`); `--no-limits`
//!   lifts them for local use. Text watermarks use the configured `font_dir`.
//!
//! Watermark images are read from the input's folder (a reference `key` is the file
//! `<folder>/key`, a Qiniu `bucket:key` the file `<folder>/bucket/key`); text watermarks use the
//! installed fonts ([`pipeline::fonts::SystemFonts`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use pipeline::{ImageFormat, Limits, PipelineError};

/// How long ffmpeg may take to extract a video frame.
const FRAME_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The input or output `-`: standard input or output.
const STANDARD: &str = "-";

/// What a `process` command asks for.
pub struct Request<'a> {
    pub inputs: &'a [PathBuf],
    /// OSS (`image/...`, `style/...`, `video/snapshot,...`, old-API `@...`) or Qiniu
    /// (`imageMogr2/...`, `vframe/...`), told apart by their first word.
    pub pipeline: &'a str,
    /// A path, `-`, or a pattern with `{stem}` / `{name}`.
    pub output: &'a str,
    /// The limits to run under; `None`: none but what the formats themselves cap.
    pub limits: Option<Limits>,
    /// Where the fonts of text watermarks are.
    pub font_dir: &'a Path,
    /// The face detector's models (`imm/detectface`).
    pub face_models: &'a Path,
    /// Which EXIF tags and colour profile results carry (the configuration's `[metadata]`).
    pub metadata: pipeline::metadata::MetadataPolicy,
}

/// One result written.
#[derive(Debug, PartialEq, Eq)]
pub struct Made {
    pub output: String,
    pub width: u32,
    pub height: u32,
    pub format: String,
}

/// Checks the request as a whole, before any input is read: `-` only alone, several inputs
/// only with an output pattern.
pub fn check(request: &Request<'_>) -> anyhow::Result<()> {
    let several = request.inputs.len() > 1;
    if several
        && request
            .inputs
            .iter()
            .any(|input| input == Path::new(STANDARD))
    {
        anyhow::bail!("standard input (-) can only be the only input");
    }
    let patterned = request.output.contains("{stem}") || request.output.contains("{name}");
    if several && !patterned {
        anyhow::bail!(
            "{} inputs need an output pattern with {{stem}} or {{name}}, e.g. -o 'out/{{stem}}.webp'",
            request.inputs.len()
        );
    }
    if several && request.output == STANDARD {
        anyhow::bail!("several results cannot all go to standard output");
    }
    Ok(())
}

/// Runs the pipeline on one input of the request and writes its result.
pub fn run_one(request: &Request<'_>, input: &Path) -> anyhow::Result<Made> {
    let output = output_for(request.output, input);
    let source = read_input(input)?;
    let mut command =
        parse_any(request.pipeline).map_err(|e| anyhow::anyhow!("{}: {e}", e.code.as_str()))?;
    format_from_name(&mut command.pipeline, &output)?;
    let limits = request.limits.clone().unwrap_or_else(unlimited);
    let assets = LocalAssets {
        folder: input.parent().unwrap_or(Path::new(".")).to_path_buf(),
    };
    // A video source (`video/snapshot`, `vframe`) has its frame extracted by ffmpeg first.
    let extractor = worker::video::Ffmpeg::from_env(FRAME_TIMEOUT);
    let resources = pipeline::Resources::new(&limits)
        .with_assets(&assets)
        .with_fonts(pipeline::fonts::SystemFonts::shared_at(request.font_dir))
        .with_frames(&extractor)
        .with_faces(pipeline::ops::faces::installed::InstalledFaces::shared_at(
            request.face_models,
        ))
        .with_metadata(request.metadata);
    let rendered = pipeline::run_one(&command.pipeline, &source, &resources)
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code.as_str()))?;
    write_output(&output, &rendered.bytes)?;
    Ok(Made {
        output,
        width: rendered.width,
        height: rendered.height,
        format: rendered.extension().to_string(),
    })
}

/// One input to one output, without a pattern: what tests and scripts call.
pub fn run(input: &Path, pipeline_text: &str, output: &Path) -> anyhow::Result<(u32, u32, String)> {
    let inputs = [input.to_path_buf()];
    let output = output.to_string_lossy();
    let request = Request {
        inputs: &inputs,
        pipeline: pipeline_text,
        output: &output,
        limits: Some(Limits::default()),
        font_dir: Path::new(pipeline::fonts::DEFAULT_FONT_DIR),
        face_models: Path::new(pipeline::ops::faces::installed::DEFAULT_FACE_MODELS),
        metadata: Default::default(),
    };
    let made = run_one(&request, input)?;
    Ok((made.width, made.height, made.format))
}

/// The output path for `input`: the pattern with `{stem}` and `{name}` filled in.
fn output_for(pattern: &str, input: &Path) -> String {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let stem = input
        .file_stem()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    pattern.replace("{stem}", &stem).replace("{name}", &name)
}

/// A pipeline without a format takes the output name's; a contradicting one is refused.
fn format_from_name(pipeline: &mut pipeline::Pipeline, output: &str) -> anyhow::Result<()> {
    let named = Path::new(output)
        .extension()
        .and_then(|ext| ImageFormat::from_name(&ext.to_string_lossy()));
    let (Some(named), None) = (named, &pipeline.output.document) else {
        return Ok(());
    };
    match pipeline.output.format {
        None => pipeline.output.format = Some(named),
        Some(asked) if asked != named => anyhow::bail!(
            "the pipeline makes {asked} but the output {output} is named as {named}; \
             name it .{asked} or drop the pipeline's format"
        ),
        Some(_) => {}
    }
    Ok(())
}

/// Limits for local use: only what the formats themselves cap.
fn unlimited() -> Limits {
    Limits {
        max_source_bytes: usize::MAX,
        max_side: u32::MAX,
        max_pixels: u64::MAX,
        max_output_pixels: u64::MAX,
        max_output_side: u32::MAX,
        max_gif_frames: u32::MAX,
    }
}

fn read_input(input: &Path) -> anyhow::Result<Vec<u8>> {
    if input == Path::new(STANDARD) {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| anyhow::anyhow!("cannot read standard input: {e}"))?;
        return Ok(bytes);
    }
    std::fs::read(input).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))
}

fn write_output(output: &str, bytes: &[u8]) -> anyhow::Result<()> {
    if output == STANDARD {
        let mut stdout = std::io::stdout().lock();
        return (stdout.write_all(bytes).and_then(|()| stdout.flush()))
            .map_err(|e| anyhow::anyhow!("cannot write standard output: {e}"));
    }
    std::fs::write(output, bytes).map_err(|e| anyhow::anyhow!("cannot write {output}: {e}"))
}

/// Watermark images next to the input file.
struct LocalAssets {
    folder: std::path::PathBuf,
}

impl pipeline::ops::watermark::AssetLookup for LocalAssets {
    fn asset(&self, reference: &str) -> Option<Vec<u8>> {
        std::fs::read(self.folder.join(reference)).ok().or_else(|| {
            let (bucket, key) = reference.split_once(':')?;
            std::fs::read(self.folder.join(bucket).join(key)).ok()
        })
    }
}

fn parse_any(text: &str) -> Result<pipeline::Command, PipelineError> {
    let oss_prefixes = ["image/", "style/", "video/", "imm/", "@"];
    let dialect = if oss_prefixes.iter().any(|prefix| text.starts_with(prefix)) {
        jobs::model::Dialect::Oss
    } else {
        jobs::model::Dialect::Qiniu
    };
    jobs::submit::parse_command(
        &jobs::submit::CommandText {
            text: text.to_string(),
            dialect,
        },
        &pipeline::NoStyles,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name)
    }

    #[test]
    fn videos_and_old_api_strings_run_locally() {
        let folder = tempfile::tempdir().unwrap();
        let output = folder.path().join("out");
        let table = [
            (
                "clip-160x120.mp4",
                "video/snapshot,t_1500,f_jpg,w_80",
                (80, 60, "jpg"),
            ),
            (
                "clip-160x120.mp4",
                "vframe/png/offset/2/h/60/rotate/90",
                (60, 80, "png"),
            ),
            (
                "gopher-640x427.jpg",
                "@100w_100h_1e_1c.png",
                (100, 100, "png"),
            ),
            ("gopher-640x427.jpg", "@50p", (320, 214, "jpg")),
        ];
        for (input, text, (width, height, format)) in table {
            let result = run(&fixture(input), text, &output).unwrap();
            assert_eq!(result, (width, height, format.to_string()), "{text}");
        }
        let error = run(&fixture("gopher-640x427.jpg"), "@1w|2w|3w|4w|5w", &output).unwrap_err();
        assert!(error.to_string().starts_with("TooManyPipe: "), "{error}");
    }

    fn request<'a>(inputs: &'a [PathBuf], pipeline: &'a str, output: &'a str) -> Request<'a> {
        Request {
            inputs,
            pipeline,
            output,
            limits: Some(Limits::default()),
            font_dir: Path::new(pipeline::fonts::DEFAULT_FONT_DIR),
            face_models: Path::new(pipeline::ops::faces::installed::DEFAULT_FACE_MODELS),
            metadata: Default::default(),
        }
    }

    #[test]
    fn the_output_name_sets_the_format_a_pipeline_leaves_open() {
        let folder = tempfile::tempdir().unwrap();
        let inputs = [fixture("gopher-640x427.jpg")];
        // (pipeline, output name, the format made, or the start of the refusal)
        let table = [
            ("image/resize,w_100", "a.png", Ok("png")),
            ("imageMogr2/thumbnail/100x", "b.WEBP", Ok("webp")),
            ("image/resize,w_100", "c.out", Ok("jpg")),
            ("image/resize,w_100/format,png", "d.png", Ok("png")),
            (
                "image/resize,w_100/format,webp",
                "e.png",
                Err("the pipeline makes webp"),
            ),
            ("image/info", "f.json", Ok("json")),
        ];
        for (pipeline, name, expected) in table {
            let output = folder.path().join(name).to_string_lossy().into_owned();
            let made = run_one(&request(&inputs, pipeline, &output), &inputs[0]);
            match (made, expected) {
                (Ok(made), Ok(format)) => {
                    assert_eq!(made.format, format, "{pipeline} -> {name}");
                    let written = std::fs::read(&output).unwrap();
                    let probed = pipeline::probe(&written).map(|info| info.format.extension());
                    if format != "json" {
                        assert_eq!(probed.ok(), Some(format), "{pipeline} -> {name}");
                    }
                }
                (Err(error), Err(start)) => {
                    assert!(error.to_string().starts_with(start), "{error}");
                    assert!(!Path::new(&output).exists(), "nothing written under {name}");
                }
                (made, expected) => panic!("{pipeline} -> {name}: {made:?}, not {expected:?}"),
            }
        }
    }

    #[test]
    fn several_inputs_need_a_pattern_and_each_gets_its_own_output() {
        let folder = tempfile::tempdir().unwrap();
        let inputs = [fixture("gopher-640x427.jpg"), fixture("small-400x300.png")];
        let pattern = folder
            .path()
            .join("{stem}.webp")
            .to_string_lossy()
            .into_owned();
        for refused in [
            request(&inputs, "image/resize,w_50", "out.webp"),
            request(&inputs, "image/resize,w_50", "-"),
            request(
                &[PathBuf::from("-"), inputs[0].clone()],
                "image/resize,w_50",
                &pattern,
            ),
        ] {
            assert!(check(&refused).is_err(), "{}", refused.output);
        }
        let batch = request(&inputs, "image/resize,w_50", &pattern);
        check(&batch).unwrap();
        for (input, stem) in inputs.iter().zip(["gopher-640x427", "small-400x300"]) {
            let made = run_one(&batch, input).unwrap();
            assert_eq!(made.output, pattern.replace("{stem}", stem));
            assert_eq!((made.width, made.format.as_str()), (50, "webp"));
        }
    }

    #[test]
    fn no_limits_lifts_the_services_output_limit() {
        let folder = tempfile::tempdir().unwrap();
        let inputs = [fixture("gopher-640x427.jpg")];
        let output = folder.path().join("big.jpg").to_string_lossy().into_owned();
        // 6000 x 4003 is over the service's 4096 x 4096 output area.
        let mut big = request(&inputs, "imageMogr2/thumbnail/6000x", &output);
        let refused = run_one(&big, &inputs[0]).unwrap_err();
        assert!(
            refused.to_string().starts_with("ImageTooLarge"),
            "{refused}"
        );
        big.limits = None;
        let made = run_one(&big, &inputs[0]).unwrap();
        assert_eq!((made.width, made.height), (6000, 4003));
    }
}
