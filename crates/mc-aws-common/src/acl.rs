//! Object ACLs: semantic comparison, owner mapping, grant headers.
//! (Being written; owned by the acl-reconciler work.)
