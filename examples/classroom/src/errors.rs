//! The service's errors, generated from `errors.toml` at compile time.
//!
//! Every error the classroom API returns comes from here: `errors::already_enrolled()` builds
//! one, `errors::codes::ALREADY_ENROLLED` names one, `errors::catalog()` is the whole contract.
//! A code that is not in the catalog does not compile.

errata::catalog!("../errors.toml");
