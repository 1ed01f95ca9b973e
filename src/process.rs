//! `ferrotype process INPUT PIPELINE -o OUTPUT`: the engine alone, on local files.

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
    let rendered = pipeline::exec::run(&command.pipeline, &source, &limits)
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code.as_str()))?;
    std::fs::write(output, &rendered.bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    Ok((
        rendered.width,
        rendered.height,
        rendered.format.extension().to_string(),
    ))
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
