//! The `aipdp` binary: everything lives in the library's `cli` module.

/// mimalloc rather than the system allocator: an answer takes a few dozen
/// small allocations (the request's strings, the answer, headers), and
/// mimalloc's thread-local free lists make each one cheaper. The library
/// leaves the choice to the binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    aipdp::cli::main()
}
