//! `acl-reconciler audit s3://bucket[/prefix]`: the safe way off object
//! ACLs. Reads every object version's ACL, groups them by what they grant
//! besides the bucket owner, says per group what disabling ACLs
//! (BucketOwnerEnforced) changes, proposes the bucket policy that keeps
//! the access the grants gave, verifies it against every object, and says
//! the steps in order.
//!
//! Modules: [`grants`] (one ACL seen from the bucket owner), [`layout`]
//! (the key space, kept small), [`cover`] (keys and prefixes),
//! [`policy`] (the proposal), [`evaluate`] (our policy evaluator),
//! [`verify`] (the verifier).

pub mod cover;
pub mod evaluate;
pub mod grants;
pub mod layout;
pub mod policy;
pub mod verify;
