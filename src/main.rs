use clap::Parser;

// Parsing thousands of files is allocation-heavy; mimalloc is markedly faster than the system
// allocator at it (see the README's performance notes).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // tree-sitter's C core allocates through its own hooks: point them at mimalloc too.
    // SAFETY: the four functions are one allocator family, never return null for a non-zero
    // size, align like malloc, and are installed before any tree-sitter object exists.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: libmimalloc_sys::mi_malloc,
            calloc: libmimalloc_sys::mi_calloc,
            realloc: libmimalloc_sys::mi_realloc,
            free: libmimalloc_sys::mi_free,
        }));
    }
    // A bug must still end in one clear line and exit code 2, never a panic trace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("premortem: internal error: {msg}{at} (please report this)");
        std::process::exit(2);
    }));
    let code = premortem::cli::run(premortem::cli::Cli::parse());
    std::process::exit(code);
}
