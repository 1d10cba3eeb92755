//! `lkeobs verify`: being built.
