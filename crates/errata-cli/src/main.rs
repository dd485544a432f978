//! The `errata` command. Everything lives in the `errata_cli` library; see `errata --help`.

fn main() -> std::process::ExitCode {
    errata_cli::main()
}
