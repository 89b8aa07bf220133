//! Where bars come from: the embedded simulation and recorded files.

pub mod file;
pub mod sim;
pub mod sim_driver;
