//! The `skein` subcommands.

use crate::admin::{self, AdminCommand};
use crate::config::{Cli, Command, DatasetCommand, OrgCommand, UserCommand};
use crate::datasets::{Datasets, QueryLimits};
use crate::store::Store;
use std::error::Error;
use std::path::Path;

pub async fn run(cli: Cli) -> Result<(), Box<dyn Error + Send + Sync>> {
    let command = match cli.command {
        Command::Serve(args) => {
            return crate::server::run(&args, &cli.data_dir, crate::server::shutdown_signal()).await
        }
        Command::User(UserCommand::Add {
            name,
            email,
            admin,
            org,
        }) => AdminCommand::AddUser {
            name,
            email,
            admin,
            org,
        },
        Command::User(UserCommand::List) => AdminCommand::ListUsers,
        Command::User(UserCommand::Token { email }) => AdminCommand::IssueToken { email },
        Command::Org(OrgCommand::Add { name }) => AdminCommand::AddOrg { name },
        Command::Org(OrgCommand::List) => AdminCommand::ListOrgs,
        Command::Dataset(DatasetCommand::Add {
            name,
            csv,
            sqlite,
            table,
            describe,
            org,
        }) => AdminCommand::AddDataset {
            name,
            // The server may run elsewhere in the file system: send absolute paths.
            csv: csv.map(absolute).transpose()?,
            sqlite: sqlite.map(absolute).transpose()?,
            table,
            describe: describe.map(absolute).transpose()?,
            org,
        },
        Command::Dataset(DatasetCommand::List) => AdminCommand::ListDatasets,
    };
    let output = administer(&cli.data_dir, command).await?;
    println!("{output}");
    Ok(())
}

fn absolute(path: std::path::PathBuf) -> Result<std::path::PathBuf, String> {
    std::path::absolute(&path).map_err(|err| format!("{}: {err}", path.display()))
}

/// Runs an admin command through a running server, or directly on the store if none runs.
async fn administer(
    data_dir: &Path,
    command: AdminCommand,
) -> Result<String, Box<dyn Error + Send + Sync>> {
    if let Some(result) = admin::send_to_server(data_dir, &command).await {
        return Ok(result?);
    }
    if !data_dir.join("db").exists() {
        return Err(format!(
            "no Skein data in {}; start the server once with `skein serve` to create it",
            data_dir.display()
        )
        .into());
    }
    let store = Store::open(data_dir)?;
    let datasets = Datasets::new(store.clone(), data_dir, QueryLimits::default());
    let result = admin::execute(&store, &datasets, command).await;
    store.flush().await?;
    Ok(result?)
}
