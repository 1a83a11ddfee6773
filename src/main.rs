use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SKEIN_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = skein::config::Cli::parse();
    if let Err(err) = skein::cli::run(cli).await {
        eprintln!("error: {err}");
        // Errors from the table exit by category (README: "Exit status"); anything else is 1.
        let code = err
            .downcast_ref::<skein::error::Error>()
            .map_or(1, |err| err.code.category().exit_code());
        std::process::exit(code);
    }
}
