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
        std::process::exit(1);
    }
}
