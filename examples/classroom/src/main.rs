//! `classroom`: the reference service built on errata (lectures, enrollment, live sessions).
//!
//! Configuration comes from the environment (see the README); a bad value stops start-up with a
//! message naming the variable.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    classroom::telemetry::init();
    let config = match classroom::config::Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("classroom: {err}");
            return ExitCode::from(2);
        }
    };
    match classroom::serve(config, classroom::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("classroom: {err:#}");
            ExitCode::FAILURE
        }
    }
}
