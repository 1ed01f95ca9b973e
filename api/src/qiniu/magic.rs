//! Qiniu's magic variables (`$(key)`, `$(fsize)`, `$(imageInfo.width)`, `$(x:name)` ...) in
//! a put policy's `saveKey`, `returnBody` and `callbackBody`, pure. A variable is written the
//! way the template's kind needs it: in JSON, strings quoted and numbers and objects bare; in
//! a form body, percent-encoded; in a key, as plain text. A variable that has no value for this
//! file (`imageInfo` of a text file, an `x:` variable not sent) is `null` in JSON and empty
//! elsewhere. `imageInfo` and `exif` are the documents of Qiniu's `imageInfo` and `exif`
//! commands (the engine's, read from the file's start), their fields reached by dotted paths
//! (`$(imageInfo.width)`, `$(exif.Make.val)`). The variables Ferrotype cannot compute in the
//! API (`avinfo`, `imageAve`) refuse the upload rather than render a value that is not the
//! file's ([`check_template`]).

use chrono::{DateTime, Datelike, Timelike, Utc};
use jobs::error::FailureCode;
use serde_json::{json, Value};

use super::error::QiniuError;

/// How a template is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Json,
    Form,
    Text,
}

/// What the variables stand for, for one upload.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub fname: Option<String>,
    pub fsize: u64,
    pub mime_type: String,
    pub end_user: Option<String>,
    pub persistent_id: Option<String>,
    pub uuid: String,
    pub body_sha1: Option<String>,
    /// Qiniu's `imageInfo` document of the file, when it is an image.
    pub image: Option<Value>,
    /// Qiniu's `exif` document of the file, when it has EXIF data.
    pub exif: Option<Value>,
    pub time: DateTime<Utc>,
    /// The client's `x:` variables, by full name (`x:name`).
    pub vars: Vec<(String, String)>,
}

const UNSUPPORTED: [&str; 2] = ["avinfo", "imageAve"];

/// The variables a template names.
pub fn variables(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("$(") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        names.push(&after[..end]);
        rest = &after[end + 1..];
    }
    names
}

/// Refuses a template that names a variable Ferrotype cannot compute.
pub fn check_template(template: &str) -> Result<(), QiniuError> {
    let unsupported = variables(template).into_iter().find(|name| {
        let root = name.split('.').next().unwrap_or_default();
        UNSUPPORTED.contains(&root)
    });
    match unsupported {
        Some(name) => Err(QiniuError::new(
            FailureCode::Pipeline(pipeline::ErrorCode::NotImplemented),
            format!("the magic variable $({name}) is not supported"),
        )),
        None => Ok(()),
    }
}

/// The extension a type is usually saved with, where the type's first registered one is not
/// (`image/jpeg` lists `jfif` first).
const USUAL_EXTENSIONS: [(&str, &str); 8] = [
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/gif", "gif"),
    ("image/webp", "webp"),
    ("image/tiff", "tiff"),
    ("text/plain", "txt"),
    ("video/mp4", "mp4"),
    ("audio/mpeg", "mp3"),
];

/// The extension of the file's name, with its dot (`.jpg`), else the one its type names.
fn ext(facts: &Facts) -> String {
    let by_name = (facts.fname.as_deref())
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, ext)| format!(".{ext}"))
        .filter(|ext| ext.len() > 1);
    let mime = facts.mime_type.split(';').next().unwrap_or_default().trim();
    let usual = (USUAL_EXTENSIONS.iter()).find(|(m, _)| m.eq_ignore_ascii_case(mime));
    by_name
        .or_else(|| usual.map(|(_, ext)| format!(".{ext}")))
        .or_else(|| {
            mime_guess::get_mime_extensions_str(mime)
                .and_then(|exts| exts.first())
                .map(|ext| format!(".{ext}"))
        })
        .unwrap_or_default()
}

/// The field of `document` a dotted path names (the whole document for none).
fn field(document: Option<&Value>, path: Option<&str>) -> Option<Value> {
    let mut value = document?;
    for name in path.into_iter().flat_map(|path| path.split('.')) {
        value = value.get(name)?;
    }
    Some(value.clone())
}

/// A variable's name split at its first dot: `imageInfo.width` -> (`imageInfo`, `width`).
fn root_and_path(name: &str) -> (&str, Option<&str>) {
    match name.split_once('.') {
        Some((root, path)) => (root, Some(path)),
        None => (name, None),
    }
}

/// A variable's value, as JSON; `None` when it has none for this file.
pub fn value(name: &str, facts: &Facts) -> Option<Value> {
    let text = |s: &str| Some(Value::String(s.to_string()));
    let time = facts.time;
    match name {
        "bucket" => text(&facts.bucket),
        "key" => text(&facts.key),
        "etag" | "hash" => text(&facts.etag),
        "fname" => facts.fname.as_deref().and_then(text),
        "fprefix" => (facts.fname.as_deref())
            .map(|name| name.rsplit_once('.').map_or(name, |(stem, _)| stem))
            .and_then(text),
        "fsize" => Some(json!(facts.fsize)),
        "mimeType" => text(&facts.mime_type),
        "ext" => text(&ext(facts)),
        "endUser" => facts.end_user.as_deref().and_then(text),
        "persistentId" => facts.persistent_id.as_deref().and_then(text),
        "uuid" => text(&facts.uuid),
        "bodySha1" => facts.body_sha1.as_deref().and_then(text),
        "year" => text(&format!("{:04}", time.year())),
        "mon" => text(&format!("{:02}", time.month())),
        "day" => text(&format!("{:02}", time.day())),
        "hour" => text(&format!("{:02}", time.hour())),
        "min" => text(&format!("{:02}", time.minute())),
        "sec" => text(&format!("{:02}", time.second())),
        var if var.starts_with("x:") => (facts.vars.iter())
            .find(|(n, _)| n == var)
            .and_then(|(_, v)| text(v)),
        other => match root_and_path(other) {
            ("imageInfo", path) => field(facts.image.as_ref(), path),
            ("exif", path) => field(facts.exif.as_ref(), path),
            _ => None,
        },
    }
}

fn written(value: Option<Value>, kind: Kind) -> String {
    let plain = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match (kind, value) {
        (Kind::Json, Some(value)) => value.to_string(),
        (Kind::Json, None) => "null".into(),
        (_, None) => String::new(),
        (Kind::Text, Some(value)) => plain(&value),
        (Kind::Form, Some(value)) => {
            form_urlencoded::byte_serialize(plain(&value).as_bytes()).collect()
        }
    }
}

/// The template with its variables filled in.
pub fn render(template: &str, facts: &Facts, kind: Kind) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else {
            out.push_str(&rest[start..]);
            return out;
        };
        out.push_str(&written(value(&after[..end], facts), kind));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            bucket: "b".into(),
            key: "a/b.jpg".into(),
            etag: "Fh".into(),
            fname: Some("cat photo.jpeg".into()),
            fsize: 12,
            mime_type: "image/jpeg".into(),
            end_user: Some("u1".into()),
            persistent_id: Some("id-1".into()),
            uuid: "0b5c".into(),
            body_sha1: Some("da39".into()),
            image: Some(json!({"format": "jpeg", "width": 640, "height": 427})),
            exif: Some(json!({"Make": {"type": 2, "val": "Canon"}})),
            time: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            vars: vec![("x:name".into(), "cat&dog".into())],
        }
    }

    #[test]
    fn every_variable_is_written_in_json() {
        let cases = [
            ("bucket", r#""b""#),
            ("key", r#""a/b.jpg""#),
            ("etag", r#""Fh""#),
            ("fname", r#""cat photo.jpeg""#),
            ("fprefix", r#""cat photo""#),
            ("fsize", "12"),
            ("mimeType", r#""image/jpeg""#),
            ("ext", r#"".jpeg""#),
            ("endUser", r#""u1""#),
            ("persistentId", r#""id-1""#),
            ("uuid", r#""0b5c""#),
            ("bodySha1", r#""da39""#),
            ("year", r#""2023""#),
            ("mon", r#""11""#),
            ("day", r#""14""#),
            ("hour", r#""22""#),
            ("min", r#""13""#),
            ("sec", r#""20""#),
            ("imageInfo.width", "640"),
            ("imageInfo.height", "427"),
            ("imageInfo.format", r#""jpeg""#),
            ("imageInfo", r#"{"format":"jpeg","height":427,"width":640}"#),
            ("exif.Make.val", r#""Canon""#),
            ("exif.Make", r#"{"type":2,"val":"Canon"}"#),
            ("exif.Model", "null"),
            ("x:name", r#""cat&dog""#),
            ("x:missing", "null"),
            ("imageInfo.nope", "null"),
            ("nope", "null"),
        ];
        for (name, expected) in cases {
            let template = format!("$({name})");
            assert_eq!(render(&template, &facts(), Kind::Json), expected, "{name}");
        }
    }

    #[test]
    fn kinds_write_values_as_they_need() {
        let template = "k=$(key)&n=$(x:name)&w=$(imageInfo.width)&m=$(x:missing)";
        assert_eq!(
            render(template, &facts(), Kind::Form),
            "k=a%2Fb.jpg&n=cat%26dog&w=640&m="
        );
        assert_eq!(
            render("up/$(year)/$(etag)$(ext)", &facts(), Kind::Text),
            "up/2023/Fh.jpeg"
        );
        // The extension from the type when the name has none.
        let mut no_name = facts();
        no_name.fname = None;
        assert_eq!(render("$(ext)", &no_name, Kind::Text), ".jpg");
        no_name.mime_type = "image/bmp".into();
        assert_eq!(render("$(ext)", &no_name, Kind::Text), ".bmp");
        assert_eq!(
            render("$(fname) $(oops", &no_name, Kind::Json),
            "null $(oops"
        );
    }

    #[test]
    fn variables_that_cannot_be_computed_are_refused() {
        assert!(check_template(r#"{"e":$(exif.Make)}"#).is_ok());
        assert!(check_template(r#"{"a":$(avinfo)}"#).is_err());
        assert!(check_template(r#"{"a":$(imageAve)}"#).is_err());
        assert!(check_template(r#"{"k":$(key),"i":$(imageInfo)}"#).is_ok());
        assert_eq!(variables("$(a)x$(b.c)$("), vec!["a", "b.c"]);
    }
}
