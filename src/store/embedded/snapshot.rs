//! The store's records as one stream, for backups: written while no transaction runs (so no
//! write is half in it), and loaded into a fresh store.
//!
//! A record is `[name length: u8][tree name][key length: u32 BE][key][value length: u32 BE]
//! [value]`. Every tree is written except derived ones (vectors), which the server rebuilds.

use super::{io, Error, SledStore};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// Trees a snapshot leaves out: the server derives them again.
const DERIVED: [&str; 2] = ["vectors", "vector_models"];

/// Records written per tree.
pub type Counts = BTreeMap<String, u64>;

impl SledStore {
    /// Writes every durable record to `out`, then runs `also` (copying files the records refer
    /// to), all while transactions wait: the snapshot is one moment of the store.
    pub fn snapshot<T>(
        &self,
        out: &mut impl Write,
        also: impl FnOnce(&SledStore) -> std::io::Result<T>,
    ) -> Result<(Counts, T), Error> {
        let _alone = self.writes.write().unwrap_or_else(|e| e.into_inner());
        let t = self.trees()?;
        let mut counts = Counts::new();
        for name in t.db.tree_names() {
            let name_text = String::from_utf8_lossy(&name).into_owned();
            if DERIVED.contains(&name_text.as_str()) || name.len() > u8::MAX as usize {
                continue;
            }
            let tree = t.db.open_tree(&name)?;
            let mut count = 0;
            for entry in tree.iter() {
                let (key, value) = entry?;
                write_record(out, &name, &key, &value).map_err(io)?;
                count += 1;
            }
            counts.insert(name_text, count);
        }
        let also = also(self).map_err(io)?;
        Ok((counts, also))
    }

    /// Loads a snapshot into this (new, empty) store and makes it durable.
    pub async fn load_snapshot(&self, input: &mut impl Read) -> Result<Counts, Error> {
        let t = self.trees()?;
        let mut counts = Counts::new();
        while let Some((name, key, value)) = read_record(input).map_err(io)? {
            t.db.open_tree(&name)?.insert(key, value)?;
            *counts
                .entry(String::from_utf8_lossy(&name).into_owned())
                .or_default() += 1;
        }
        self.flush().await?;
        Ok(counts)
    }
}

fn write_record(
    out: &mut impl Write,
    tree: &[u8],
    key: &[u8],
    value: &[u8],
) -> std::io::Result<()> {
    out.write_all(&[tree.len() as u8])?;
    out.write_all(tree)?;
    for part in [key, value] {
        out.write_all(&(part.len() as u32).to_be_bytes())?;
        out.write_all(part)?;
    }
    Ok(())
}

/// The next record, or `None` at a clean end; a stream cut inside a record is an error.
#[allow(clippy::type_complexity)]
fn read_record(input: &mut impl Read) -> std::io::Result<Option<(Vec<u8>, Vec<u8>, Vec<u8>)>> {
    let mut length = [0u8; 1];
    if input.read(&mut length)? == 0 {
        return Ok(None);
    }
    let mut name = vec![0u8; length[0] as usize];
    input.read_exact(&mut name)?;
    let mut parts = Vec::with_capacity(2);
    for _ in 0..2 {
        let mut length = [0u8; 4];
        input.read_exact(&mut length)?;
        let mut part = vec![0u8; u32::from_be_bytes(length) as usize];
        input.read_exact(&mut part)?;
        parts.push(part);
    }
    let value = parts.pop().expect("two parts");
    let key = parts.pop().expect("two parts");
    Ok(Some((name, key, value)))
}
