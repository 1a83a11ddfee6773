//! Running the suites on PostgreSQL: `scripts/with-postgres` sets `SKEIN_TEST_POSTGRES`, and
//! every test server gets a database of its own there.

use std::path::Path;
use std::process::Command;

/// Whether this run keeps the test servers' data in PostgreSQL (`scripts/with-postgres` sets
/// `SKEIN_TEST_POSTGRES`). Tests of the embedded store's own files (its format upgrades, its
/// backups, its full disk) return early then: PostgreSQL has its own.
pub fn on_postgres() -> bool {
    std::env::var_os("SKEIN_TEST_POSTGRES").is_some()
}

/// The database a test server on `data_dir` keeps its data in when the run is on PostgreSQL:
/// one of its own, named after the data dir, made on first use.
pub fn database_for(data_dir: &Path) -> Option<String> {
    let admin = std::env::var("SKEIN_TEST_POSTGRES").ok()?;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in data_dir.as_os_str().as_encoded_bytes() {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let name = format!("skein_test_{hash:016x}");
    let created = Command::new("psql")
        .args([admin.as_str(), "-q", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("run psql");
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert!(
        created.status.success() || stderr.contains("already exists"),
        "could not create the test database: {stderr}"
    );
    let base = admin.rsplit_once('/').expect("a URL with a database").0;
    Some(format!("{base}/{name}"))
}
