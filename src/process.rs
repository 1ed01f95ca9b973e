//! `ferrotype process INPUT PIPELINE -o OUTPUT`: the engine alone, on local files.
//!
//! Watermark images are read from the input's folder (a reference `key` is the file
//! `<folder>/key`, a Qiniu `bucket:key` the file `<folder>/bucket/key`); text watermarks use the
//! installed fonts ([`pipeline::fonts::SystemFonts`]).

use std::path::Path;

use pipeline::{Limits, PipelineError};

/// Runs `pipeline_text` (OSS `image/...` or Qiniu `imageMogr2/...`, told apart by their
/// first word) on `input` and writes `output`. Returns (width, height, format).
pub fn run(input: &Path, pipeline_text: &str, output: &Path) -> anyhow::Result<(u32, u32, String)> {
    let source = std::fs::read(input)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?;
    let command =
        parse_any(pipeline_text).map_err(|e| anyhow::anyhow!("{}: {e}", e.code.as_str()))?;
    let limits = Limits::default();
    let assets = LocalAssets {
        folder: input.parent().unwrap_or(Path::new(".")).to_path_buf(),
    };
    let rendered = pipeline::exec::run_with_assets(
        &command.pipeline,
        &source,
        &limits,
        None,
        &assets,
        pipeline::fonts::SystemFonts::shared(),
    )
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
    let dialect = if text.starts_with("image/") || text.starts_with("style/") {
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
