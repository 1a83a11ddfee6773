//! The `skein` subcommands.

use crate::admin::{self, AdminCommand};
use crate::config::{
    BenchCommand, Cli, Command, DatasetCommand, OrgCommand, Places, SlackCommand, TokenCommand,
    UserCommand,
};
use crate::datasets::{Datasets, QueryLimits};
use crate::search::{HashedNgrams, Search, DEFAULT_DIM};
use crate::store::Store;
use std::error::Error;
use std::path::Path;
use std::sync::Arc;

pub async fn run(cli: Cli) -> Result<(), Box<dyn Error + Send + Sync>> {
    let places = cli.places();
    let command = match cli.command {
        Command::Serve(args) => {
            return crate::server::run(&args, &places, crate::server::shutdown_signal()).await
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
        Command::User(UserCommand::Disable { email }) => AdminCommand::DisableUser { email },
        Command::User(UserCommand::Enable { email }) => AdminCommand::EnableUser { email },
        Command::Token(TokenCommand::List { email }) => AdminCommand::ListTokens { email },
        Command::Token(TokenCommand::Revoke { id }) => AdminCommand::RevokeToken { id },
        Command::Org(OrgCommand::Add { name }) => AdminCommand::AddOrg { name },
        Command::Org(OrgCommand::List) => AdminCommand::ListOrgs,
        Command::Slack(SlackCommand::Link { team, org }) => {
            AdminCommand::LinkSlackTeam { team, org }
        }
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
        Command::Dataset(DatasetCommand::Describe { dataset, org }) => {
            AdminCommand::DescribeDataset { dataset, org }
        }
        Command::Dataset(DatasetCommand::Replace { dataset, csv, org }) => {
            AdminCommand::ReplaceDataset {
                dataset,
                csv: absolute(csv)?,
                org,
            }
        }
        Command::Dataset(DatasetCommand::Remove { dataset, org }) => {
            AdminCommand::RemoveDataset { dataset, org }
        }
        Command::Backup { to } => AdminCommand::Backup { to: absolute(to)? },
        Command::Export {
            format: _,
            to,
            org,
            user,
            since,
        } => AdminCommand::Export {
            to: absolute(to)?,
            filter: crate::export::Filter { org, user, since },
        },
        Command::Import { from } => AdminCommand::Import {
            from: absolute(from)?,
        },
        Command::Restore { from } => {
            println!("{}", crate::backup::restore(&from, &cli.data_dir).await?);
            return Ok(());
        }
        Command::Reindex => AdminCommand::Reindex,
        Command::Migrate { from, to } => {
            let (report, verified) = migrate(&from, &to).await?;
            println!("{report}");
            if !verified {
                return Err(crate::error::Error::new(
                    crate::error::Code::AlreadyExists,
                    "some rows in the database differ from the data dir's (changed there since an earlier run?)",
                )
                .into());
            }
            return Ok(());
        }
        Command::Bench(command) => return bench(command, &places).await,
        Command::Eval { dir, dim } => {
            let embedder = std::sync::Arc::new(crate::search::HashedNgrams::new(dim));
            println!("{}", crate::search::eval::report(&dir, embedder).await?);
            return Ok(());
        }
    };
    let output = administer(&places, command).await?;
    println!("{output}");
    Ok(())
}

/// `skein bench …`: runs one benchmark and prints its report.
async fn bench(command: BenchCommand, places: &Places) -> Result<(), Box<dyn Error + Send + Sync>> {
    use crate::bench;
    let report = match command {
        BenchCommand::Search {
            corpus,
            messages,
            threads,
            seconds,
            dim,
            legs,
            json,
        } => {
            let run = bench::SearchRun {
                messages,
                threads,
                seconds,
                dim,
                legs,
            };
            bench::search(&corpus, &run, json).await?
        }
        BenchCommand::Seed { corpus, messages } => seed(places, &corpus, messages).await?,
        BenchCommand::Thread {
            answers,
            server,
            json,
        } => bench::thread(answers.max(1), server.as_deref(), json).await?,
        BenchCommand::Idle {
            connections,
            server,
            json,
        } => bench::idle(connections.max(1), server.as_deref(), json).await?,
        BenchCommand::Writes {
            clients,
            seconds,
            rounds,
            server,
            json,
        } => {
            let clients: Vec<usize> = clients.into_iter().map(|c| c.max(1)).collect();
            let (seconds, rounds) = (seconds.max(1), rounds.max(1));
            bench::writes(&clients, seconds, rounds, server.as_deref(), json).await?
        }
        BenchCommand::Corpus { corpus, messages } => {
            // Streamed as it is made: a corpus of 100k messages is not built as one string.
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            bench::write_corpus(&corpus, messages, &mut out)?;
            return Ok(());
        }
        BenchCommand::Fanout {
            watchers,
            events,
            rounds,
            publishers,
            server,
            json,
        } => {
            let shape = bench::FanoutShape {
                watchers: watchers.max(1),
                events: events.max(1),
                rounds: rounds.max(1),
                publishers: publishers.max(1),
            };
            bench::fanout(shape, server.as_deref(), json).await?
        }
        BenchCommand::Anchor {
            kind,
            frame_bytes,
            dir,
        } => {
            bench::serve_anchor(kind, frame_bytes, dir).await?;
            return Ok(());
        }
        BenchCommand::Ws {
            corpus,
            addr,
            token,
            clients,
            seconds,
        } => bench::ws(&addr, &token, &corpus, clients, seconds).await?,
    };
    println!("{report}");
    Ok(())
}

/// Writes a benchmark corpus straight into a data dir no server is running on (benchmark code
/// never runs inside the server).
async fn seed(
    places: &Places,
    corpus: &Path,
    messages: usize,
) -> Result<String, Box<dyn Error + Send + Sync>> {
    use crate::error::{Code, Error};
    let data_dir = &places.data_dir;
    if admin::send_to_server(data_dir, &AdminCommand::ListOrgs)
        .await
        .is_some()
    {
        return Err(Error::new(
            Code::AlreadyExists,
            format!(
                "a server is running on {}; stop it, seed, and start it again (it indexes the \
                 new messages as it starts)",
                data_dir.display()
            ),
        )
        .into());
    }
    let store = open_offline(places).await?;
    let report = crate::bench::seed(&store, corpus, messages).await?;
    store.flush().await?;
    Ok(report)
}

fn absolute(path: std::path::PathBuf) -> Result<std::path::PathBuf, String> {
    std::path::absolute(&path).map_err(|err| format!("{}: {err}", path.display()))
}

/// Runs an admin command through a running server, or directly on the store if none runs.
async fn administer(
    places: &Places,
    command: AdminCommand,
) -> Result<String, Box<dyn Error + Send + Sync>> {
    if let Some(result) = admin::send_to_server(&places.data_dir, &command).await {
        return Ok(result?);
    }
    let store = open_offline(places).await?;
    run_on(store, places, command).await
}

/// Opens the store for a command run while no server runs: the database if one is given, else
/// the data dir's, which a server must have created.
async fn open_offline(places: &Places) -> Result<Store, crate::error::Error> {
    use crate::error::{Code, Error};
    let data_dir = &places.data_dir;
    if let Some(url) = &places.database {
        std::fs::create_dir_all(data_dir).map_err(|err| Error::file(data_dir, err))?;
        return Ok(Store::connect(url, data_dir).await?);
    }
    if !data_dir.join("db").exists() {
        return Err(Error::new(
            Code::DataDirNotFound,
            format!(
                "no Skein data in {}; start the server once with `skein serve` to create it",
                data_dir.display()
            ),
        ));
    }
    Ok(Store::open(data_dir)?)
}

/// Runs an admin command on a store this process opened.
async fn run_on(
    store: Store,
    places: &Places,
    command: AdminCommand,
) -> Result<String, Box<dyn Error + Send + Sync>> {
    let result = if matches!(command, AdminCommand::Reindex) {
        let search = Search::open(
            store.clone(),
            Some(&places.data_dir),
            Arc::new(HashedNgrams::new(DEFAULT_DIM)),
        )
        .await?;
        admin::reindex(&search).await
    } else {
        let datasets = Datasets::new(store.clone(), &places.datasets_dir, QueryLimits::default());
        admin::execute(&store, &datasets, command).await
    };
    store.flush().await?;
    Ok(result?)
}

/// `skein migrate`: copies the data dir `from` into the database `to`; returns the report (a
/// line per table) and whether every row read back as copied.
async fn migrate(from: &Path, to: &str) -> Result<(String, bool), Box<dyn Error + Send + Sync>> {
    use crate::error::{Code, Error};
    if admin::send_to_server(from, &AdminCommand::ListOrgs)
        .await
        .is_some()
    {
        return Err(Error::new(
            Code::AlreadyExists,
            format!("a server is running on {}; stop it first", from.display()),
        )
        .into());
    }
    let source = open_offline(&Places {
        data_dir: from.to_path_buf(),
        database: None,
        datasets_dir: from.join("datasets"),
    })
    .await?;
    // The copy is not a node: its id lives only as long as the copy.
    let scratch = tempfile::tempdir()?;
    let target = Store::connect(to, scratch.path())
        .await
        .map_err(Error::from)?;
    let tables = source.copy_into(&target).await.map_err(Error::from)?;
    let mut report = String::from("table              rows   new  sha256 (read back)\n");
    let mut verified = true;
    for table in &tables {
        verified &= table.verified;
        report.push_str(&format!(
            "{:<17} {:>6} {:>5}  {}  {}\n",
            table.table,
            table.rows,
            table.inserted,
            table.checksum,
            if table.verified { "ok" } else { "DIFFERS" }
        ));
    }
    report.push_str(&format!(
        "imported datasets' files stay in {}: give the nodes --datasets-dir there (or a copy)",
        from.join("datasets").display()
    ));
    Ok((report, verified))
}
