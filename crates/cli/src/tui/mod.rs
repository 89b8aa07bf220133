//! `watch`'s terminal chart: pure state ([`state`]), our candlestick widget
//! ([`chart`]), drawing from state ([`view`]), and the event loop ([`app`]),
//! the only part that touches the terminal.

pub mod app;
pub mod chart;
pub mod state;
pub mod view;

#[cfg(test)]
mod view_tests;
