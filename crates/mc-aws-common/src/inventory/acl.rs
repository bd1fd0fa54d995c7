//! The Object ACL field of an inventory report: Base64 of a JSON document
//! `{"version": "2022-11-10", "status": "AVAILABLE", "grants": [{"type":
//! "CanonicalUser", "canonicalId": "...", "permission": "READ"}, {"type":
//! "Group", "uri": "...", "permission": "READ"}]}`. A status of UNAVAILABLE
//! means "not known": the ACL must be read live, never taken as no grants.

use base64::Engine;
use serde::Deserialize;

use crate::acl::{Acl, Grant, Grantee, Group, Permission};

/// What a report says of an object's ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InventoryAcl {
    /// The grants, with the owner from the Object Owner field when present.
    Known(Acl),
    /// S3 could not include it: read the ACL live.
    Unavailable,
}

#[derive(Deserialize)]
struct Document {
    status: String,
    #[serde(default)]
    grants: Vec<DocGrant>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocGrant {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    canonical_id: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    permission: Permission,
}

impl InventoryAcl {
    /// Decodes the field; `owner` is the Object Owner field (its canonical
    /// ID), when the report has it.
    pub fn decode(field: &str, owner: Option<&str>) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(field.trim())
            .map_err(|e| format!("Object ACL field is not Base64: {e}"))?;
        let doc: Document = serde_json::from_slice(&bytes)
            .map_err(|e| format!("Object ACL field is not the documented JSON: {e}"))?;
        if doc.status.eq_ignore_ascii_case("UNAVAILABLE") {
            return Ok(InventoryAcl::Unavailable);
        }
        if !doc.status.eq_ignore_ascii_case("AVAILABLE") {
            return Err(format!("Object ACL field has status {:?}", doc.status));
        }
        let grants = doc
            .grants
            .into_iter()
            .map(|g| {
                let grantee = match (g.kind.as_str(), g.canonical_id, g.uri) {
                    ("CanonicalUser", Some(id), _) => Grantee::user(id),
                    ("Group", _, Some(uri)) => Grantee::Group(Group::from_uri(&uri)),
                    (kind, _, _) => return Err(format!("Object ACL grantee of type {kind:?}")),
                };
                Ok(Grant::new(grantee, g.permission))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let owner = owner
            .map(str::trim)
            .filter(|o| !o.is_empty() && !o.eq_ignore_ascii_case("UNAVAILABLE"));
        Ok(InventoryAcl::Known(Acl::new(
            owner.map(String::from),
            grants,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn documented_fields_decode() {
        let doc = r#"{"version":"2022-11-10","status":"AVAILABLE","grants":[{"uri":"http://acs.amazonaws.com/groups/global/AllUsers","permission":"READ","type":"Group"},{"canonicalId":"abc","permission":"FULL_CONTROL","type":"CanonicalUser"}]}"#;
        let InventoryAcl::Known(acl) = InventoryAcl::decode(&b64(doc), Some("abc")).unwrap() else {
            panic!("unavailable")
        };
        assert!(acl.is_public());
        assert_eq!(acl.owner.as_deref(), Some("abc"));
        assert_eq!(acl.grant_count(), 2);
        let unavailable = r#"{"version":"2022-11-10","status":"UNAVAILABLE"}"#;
        assert_eq!(
            InventoryAcl::decode(&b64(unavailable), Some("UNAVAILABLE")),
            Ok(InventoryAcl::Unavailable)
        );
        assert!(InventoryAcl::decode("not base64!", None).is_err());
        assert!(InventoryAcl::decode(&b64("{}"), None).is_err());
    }
}
