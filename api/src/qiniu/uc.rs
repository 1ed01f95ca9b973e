//! Region discovery (uc): `GET /v4/query?ak=&bucket=` and `/v3/query` (`{"hosts":[region]}`)
//! and the older `/v2/query` (`{"up":{"src":{"main":[...]}},...}`) answer Ferrotype's own
//! address, as the client reached it (its `Host`), for every service (up, io, rs, rsf, api,
//! uc, s3), so `qiniu.config.set_default(default_uc_host=...)` alone is enough for every SDK
//! call. The query is unsigned, as Qiniu's is. Every bucket name gets the one region, served
//! or not: the call that follows then answers the bucket's own error (631), where a failed
//! query would make the SDK raise instead of answering.

use axum::extract::Query;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::QiniuError;
use super::rs::answer_value;

/// How long a client may keep the answer, in seconds (Qiniu's).
const TTL: u64 = 86_400;

/// The region every bucket is in, named as Qiniu's first region is.
const REGION: &str = "z0";

const SERVICES: [&str; 9] = [
    "up", "up_acc", "io", "io_src", "rs", "rsf", "api", "uc", "s3",
];

#[derive(Debug, Deserialize)]
pub(super) struct RegionQuery {
    #[serde(default)]
    ak: String,
    #[serde(default)]
    bucket: String,
}

/// The host the client reached the service by.
fn own_host(headers: &HeaderMap) -> Result<String, QiniuError> {
    (headers.get(axum::http::header::HOST))
        .and_then(|host| host.to_str().ok())
        .filter(|host| !host.is_empty())
        .map(str::to_string)
        .ok_or_else(|| QiniuError::bad_request("the request has no Host"))
}

fn checked(query: &RegionQuery) -> Result<(), QiniuError> {
    if query.ak.is_empty() || query.bucket.is_empty() {
        return Err(QiniuError::bad_request("ak and bucket are required"));
    }
    Ok(())
}

/// One region of a v3/v4 answer, every service on `host`.
fn region(host: &str) -> Value {
    let mut region = json!({ "region": REGION, "ttl": TTL });
    for service in SERVICES {
        region[service] = json!({ "domains": [host] });
    }
    region["up"]["acc_domains"] = json!([host]);
    region["s3"]["region_alias"] = json!(REGION);
    region
}

/// `/v4/query` and `/v3/query`.
pub(super) async fn query_regions(
    Query(query): Query<RegionQuery>,
    headers: HeaderMap,
) -> Result<Response, QiniuError> {
    checked(&query)?;
    let host = own_host(&headers)?;
    let body = json!({ "hosts": [region(&host)] });
    Ok(answer_value(&crate::new_request_id(), body))
}

/// `/v2/query`: the older shape, each service's main and backup hosts.
pub(super) async fn query_v2(
    Query(query): Query<RegionQuery>,
    headers: HeaderMap,
) -> Result<Response, QiniuError> {
    checked(&query)?;
    let host = own_host(&headers)?;
    let main = json!({ "main": [host], "backup": [] });
    let mut body = json!({ "ttl": TTL, "region": REGION });
    for service in ["io", "rs", "rsf", "api", "uc"] {
        body[service] = json!({ "src": main.clone() });
    }
    body["up"] = json!({ "src": main.clone(), "acc": main });
    Ok(answer_value(&crate::new_request_id(), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_names_the_host_for_every_service() {
        let region = region("127.0.0.1:9000");
        for service in SERVICES {
            assert_eq!(
                region[service]["domains"],
                json!(["127.0.0.1:9000"]),
                "{service}"
            );
        }
        assert_eq!(region["up"]["acc_domains"], json!(["127.0.0.1:9000"]));
        assert_eq!(region["ttl"], json!(TTL));
    }
}
