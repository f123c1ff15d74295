//! The root package only owns `examples/` and `tests/`.
