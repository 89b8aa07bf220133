//! Where bars come from: the embedded simulation and recorded files.

pub mod feed;
pub mod file;
pub mod sim;
