//! fauxqs launcher.
