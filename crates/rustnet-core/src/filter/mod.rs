//! Filter language (to be written).
