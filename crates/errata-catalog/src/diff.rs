//! The compatibility gate between two versions of a catalog.
