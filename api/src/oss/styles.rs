//! The bucket style API (`?style`): PutBucketStyle (`PUT ?style&styleName=`, the body
//! `<Style><Content>image/...</Content></Style>`), GetBucketStyle, ListBucketStyle and
//! DeleteBucketStyle: the same styles, checked by `jobs::catalog`, that the native API
//! manages and `style/<name>` names.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use jobs::catalog::{self, Style};
use jobs::credentials::Permission;
use jobs::error::FailureCode;
use jobs::ledger::AccessKey;
use jobs::Services;
use serde::Deserialize;

use super::error::{escape, OssError};
use super::{parse_xml, xml, Target};

/// The largest style body taken.
const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
struct StyleBody {
    #[serde(rename = "Content")]
    content: String,
}

fn http_date(time: chrono::DateTime<chrono::Utc>) -> String {
    httpdate::fmt_http_date(time.into())
}

fn style_element(style: &Style) -> String {
    format!(
        "<Style><Name>{}</Name><Content>{}</Content><CreateTime>{}</CreateTime>\
         <LastModifyTime>{}</LastModifyTime></Style>",
        escape(&style.name),
        escape(&style.body),
        http_date(style.created_at),
        http_date(style.updated_at),
    )
}

/// The `styleName` a request names; required by every call but the listing.
fn style_name(target: &Target) -> Result<&str, OssError> {
    target
        .value("styleName")
        .filter(|name| !name.is_empty())
        .ok_or_else(|| {
            OssError::new(
                FailureCode::MISSING_ARGUMENT,
                "Missing Some Required Arguments: styleName",
            )
        })
}

pub(super) async fn handle(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    request: axum::extract::Request,
) -> Result<Response, OssError> {
    let bucket = &target.bucket;
    let ledger = &services.ledger;
    match *request.method() {
        Method::GET if target.has("styleName") => {
            who.require(bucket, Permission::Read)?;
            let style = catalog::find_style(ledger, bucket, style_name(target)?).await?;
            Ok(xml(format!("{}{}", super::XML_HEAD, style_element(&style))))
        }
        Method::GET => {
            who.require(bucket, Permission::Read)?;
            let styles = ledger.styles(bucket).await?;
            let list: String = styles.iter().map(style_element).collect();
            Ok(xml(format!(
                "{}<StyleList>{list}</StyleList>",
                super::XML_HEAD
            )))
        }
        Method::PUT => {
            who.require(bucket, Permission::Write)?;
            let name = style_name(target)?.to_string();
            let body = super::read_body(request, MAX_BODY).await?;
            let style: StyleBody = parse_xml(&body)?;
            catalog::save_style(ledger, bucket, &name, style.content.trim()).await?;
            Ok(StatusCode::OK.into_response())
        }
        Method::DELETE => {
            who.require(bucket, Permission::Write)?;
            catalog::remove_style(ledger, bucket, style_name(target)?).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        ref method => Err(OssError::new(
            FailureCode::MethodNotAllowed,
            format!("{method} is not allowed on ?style"),
        )),
    }
}
