//! A fleet without a coordinator of our own: `sync --publish-ranges` cuts
//! the source key space into ranges ([`plan`]) and sends one SQS message per
//! range ([`message`], [`send`], [`publish`]); any number of `worker`s run
//! the ordinary `sync` pass over each range they receive ([`work`]) and
//! acknowledge it in the run's progress record in S3 ([`progress`]), which
//! `fleet-status` reads ([`status`]). Ranges partition the key space, so
//! coverage is exact; a range is done at least once (a worker that dies
//! after copying and before acknowledging leaves it to be done again).

pub mod message;
pub mod plan;
pub mod progress;
pub mod publish;
pub mod send;
pub mod status;
pub mod work;
