use clap::Parser;

fn main() {
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
