//! `ferrotype process INPUT PIPELINE -o OUTPUT`: the engine alone, on local files.
//!
//! Watermark images are read from the input's folder (a reference `key` is the file
//! `<folder>/key`, a Qiniu `bucket:key` the file `<folder>/bucket/key`); text watermarks use the
//! installed fonts ([`pipeline::fonts::SystemFonts`]).

use std::path::Path;

use pipeline::{Limits, PipelineError};

/// How long ffmpeg may take to extract a video frame.
const FRAME_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `pipeline_text` (OSS `image/...`, `style/...`, `video/snapshot,...` or an old-API
/// `@...` string, or Qiniu `imageMogr2/...`, `vframe/...`, told apart by their first word) on
/// `input` and writes `output`. Returns (width, height, format).
pub fn run(input: &Path, pipeline_text: &str, output: &Path) -> anyhow::Result<(u32, u32, String)> {
    let source = std::fs::read(input)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?;
    let command =
        parse_any(pipeline_text).map_err(|e| anyhow::anyhow!("{}: {e}", e.code.as_str()))?;
    let limits = Limits::default();
    let assets = LocalAssets {
        folder: input.parent().unwrap_or(Path::new(".")).to_path_buf(),
    };
    // A video source (`video/snapshot`, `vframe`) has its frame extracted by ffmpeg first.
    let extractor = worker::video::Ffmpeg::from_env(FRAME_TIMEOUT);
    let resources = pipeline::Resources::new(&limits)
        .with_assets(&assets)
        .with_fonts(pipeline::fonts::SystemFonts::shared())
        .with_frames(&extractor);
    let rendered = pipeline::run_one(&command.pipeline, &source, &resources)
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code.as_str()))?;
    std::fs::write(output, &rendered.bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    Ok((
        rendered.width,
        rendered.height,
        rendered.format.extension().to_string(),
    ))
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
    let oss_prefixes = ["image/", "style/", "video/", "@"];
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
}
