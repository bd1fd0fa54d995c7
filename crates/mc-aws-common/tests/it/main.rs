//! The integration tests of mc-aws-common, one binary (each former test file is a module).

mod acl_reader;
mod fuzz_regressions;
mod inventory;
mod keyfilter_reference;
mod lister_on_emulator;
mod listing_efficiency;
mod sharded_listing;
mod signed_model;
