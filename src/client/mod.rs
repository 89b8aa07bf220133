//! Typed client for the server API.
