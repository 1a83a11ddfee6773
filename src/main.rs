use clap::Parser;
use skein::config::LogFormat;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let cli = skein::config::Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SKEIN_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a terminal: a log file or a journal gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.log_format {
        LogFormat::Human => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    if let Err(err) = skein::cli::run(cli).await {
        eprintln!("error: {err}");
        // Errors from the table exit by category (README: "Exit status"); anything else is 1.
        let code = err
            .downcast_ref::<skein::error::Error>()
            .map_or(1, |err| err.code.category().exit_code());
        std::process::exit(code);
    }
}
