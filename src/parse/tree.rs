//! PURE: the table rules of TOML 1.1, as the `toml` crate (1.2) applies them, over a tree that
//! becomes inject's [`Table`] without copying a key or a value.
//!
//! A document's sections are built apart from the root and attached when the next header (or
//! the end) comes, and a table that a header defines after its sub-tables (`[a.b]`, then `[a]`)
//! moves to the end of its parent: the order of the entries is the order the `toml` crate gives.

use std::sync::Arc;

use hashbrown::HashTable;

use crate::value::{Entry, Origin, Table, Value, hash};

/// A document broke a rule; the caller asks the `toml` crate for its words (see `parse`).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Rejected;

/// A key as written: its decoded text and the line it starts on.
#[derive(Clone, Debug)]
pub(super) struct Key {
    pub text: String,
    pub line: u32,
}

enum Node {
    /// A scalar, a static array or an inline table: closed, never extended.
    Value(Value),
    /// A table made by a header, or implicitly by a header's or a dotted key's path. Boxed:
    /// most entries are values, and a small entry is cheaper to move as its table grows.
    Table(Box<Tab>),
    /// An array of tables (`[[x]]`).
    Tables(Vec<Tab>),
}

struct Item {
    key: Key,
    node: Node,
}

/// Tables this long get a hash index of their keys; shorter ones are searched in order.
const INDEXED: usize = 8;

/// A table being built.
#[derive(Default)]
pub(super) struct Tab {
    items: Vec<Item>,
    /// Positions in `items`, by key, once the table has [`INDEXED`] entries.
    index: Option<HashTable<usize>>,
    /// Made by a path, not (yet) by its own header or key.
    implicit: bool,
    /// Made or extended by a dotted key: a header can no longer define it.
    dotted: bool,
}

impl Tab {
    fn find(&self, key: &str) -> Option<usize> {
        self.find_hashed(key, self.index.as_ref().map_or(0, |_| hash(key)))
    }

    /// [`Tab::find`] with the key's hash, when the table is indexed.
    fn find_hashed(&self, key: &str, hash: u64) -> Option<usize> {
        match &self.index {
            Some(index) => index
                .find(hash, |&i| self.items[i].key.text == key)
                .copied(),
            None => self.items.iter().position(|item| item.key.text == key),
        }
    }

    fn push(&mut self, key: Key, node: Node) -> usize {
        let key_hash = self.index.as_ref().map_or(0, |_| hash(&key.text));
        self.push_hashed(key, key_hash, node)
    }

    fn push_hashed(&mut self, key: Key, key_hash: u64, node: Node) -> usize {
        let at = self.items.len();
        if let Some(index) = &mut self.index {
            let items = &self.items;
            index.insert_unique(key_hash, at, |&i| hash(&items[i].key.text));
        }
        self.items.push(Item { key, node });
        if self.index.is_none() && self.items.len() >= INDEXED {
            self.reindex();
        }
        at
    }

    /// Shifts the later entries down, as `toml`'s ordered map does.
    fn remove(&mut self, at: usize) -> Item {
        let item = self.items.remove(at);
        if self.index.is_some() {
            self.reindex();
        }
        item
    }

    fn reindex(&mut self) {
        let mut index = HashTable::with_capacity(self.items.len().max(INDEXED) * 4);
        for (i, item) in self.items.iter().enumerate() {
            let items = &self.items;
            index.insert_unique(hash(&item.key.text), i, |&j| hash(&items[j].key.text));
        }
        self.index = Some(index);
    }

    /// The table as inject's tree: keys and values moved, each entry with its key's line.
    pub(super) fn into_table(self, source: &Arc<str>) -> Table {
        let mut entries = Vec::with_capacity(self.items.len());
        for Item { key, node } in self.items {
            let value = match node {
                Node::Value(value) => value,
                Node::Table(tab) => Value::Table((*tab).into_table(source)),
                Node::Tables(tabs) => Value::Array(
                    tabs.into_iter()
                        .map(|tab| Value::Table(tab.into_table(source)))
                        .collect(),
                ),
            };
            entries.push(Entry {
                key: key.text,
                value,
                origin: Origin {
                    source: source.clone(),
                    line: Some(key.line),
                },
            });
        }
        entries
    }
}

/// The table a header's path or a dotted key's path leads to, creating implicit tables on the
/// way. A path through an array of tables goes into its last table. Only implicit tables can
/// be extended by a dotted key, and they then become closed to headers.
fn descend<'t>(
    mut table: &'t mut Tab,
    path: &[Key],
    dotted: bool,
) -> Result<&'t mut Tab, Rejected> {
    for key in path {
        let at = match table.find(&key.text) {
            Some(at) => at,
            None => {
                let tab = Tab {
                    implicit: true,
                    dotted,
                    ..Tab::default()
                };
                table.push(key.clone(), Node::Table(Box::new(tab)))
            }
        };
        table = match &mut table.items[at].node {
            Node::Table(tab) if dotted && !tab.implicit => return Err(Rejected),
            Node::Table(tab) => {
                tab.dotted |= dotted;
                tab
            }
            Node::Tables(tabs) => tabs.last_mut().ok_or(Rejected)?,
            Node::Value(_) => return Err(Rejected),
        };
    }
    Ok(table)
}

/// `a.b.c = value` in a section's body (or the root's): `keys` holds `a`, `b`, `c`.
pub(super) fn assign(body: &mut Tab, keys: &mut Vec<Key>, value: Value) -> Result<(), Rejected> {
    let key = keys.pop().ok_or(Rejected)?;
    let dotted = !keys.is_empty();
    let parent = descend(body, keys, dotted)?;
    keys.clear();
    let key_hash = parent.index.as_ref().map_or(0, |_| hash(&key.text));
    if (dotted && !parent.implicit) || parent.find_hashed(&key.text, key_hash).is_some() {
        return Err(Rejected);
    }
    parent.push_hashed(key, key_hash, Node::Value(value));
    Ok(())
}

/// `a.b.c = value` inside an inline table: its dotted keys make tables only it can extend.
pub(super) fn assign_inline(
    inline: &mut Tab,
    keys: &mut Vec<Key>,
    value: Value,
) -> Result<(), Rejected> {
    let key = keys.pop().ok_or(Rejected)?;
    let mut table = inline;
    for step in keys.drain(..) {
        let at = match table.find(&step.text) {
            Some(at) => at,
            None => {
                let tab = Tab {
                    implicit: true,
                    dotted: true,
                    ..Tab::default()
                };
                table.push(step, Node::Table(Box::new(tab)))
            }
        };
        table = match &mut table.items[at].node {
            Node::Table(tab) if tab.implicit => tab,
            _ => return Err(Rejected),
        };
    }
    if table.find(&key.text).is_some() {
        return Err(Rejected);
    }
    table.push(key, Node::Value(value));
    Ok(())
}

/// A `[header]` or `[[header]]`, split into its path and its last key.
struct Header {
    path: Vec<Key>,
    key: Key,
    array: bool,
}

/// A whole document: the root and the section being read.
#[derive(Default)]
pub(super) struct Document {
    root: Tab,
    /// The body of the current section (the root's own keys before the first header).
    pub body: Tab,
    header: Option<Header>,
}

impl Document {
    /// A header ends the section before it and starts its own.
    pub(super) fn header(&mut self, mut keys: Vec<Key>, array: bool) -> Result<(), Rejected> {
        self.finish()?;
        let key = keys.pop().ok_or(Rejected)?;
        let header = Header {
            path: keys,
            key,
            array,
        };
        if !array {
            let parent = descend(&mut self.root, &header.path, false)?;
            if let Some(at) = parent.find(&header.key.text) {
                // Only a table that sub-tables' headers implied can be defined, and only once.
                match parent.remove(at).node {
                    Node::Table(tab) if tab.implicit && !tab.dotted => self.body = *tab,
                    _ => return Err(Rejected),
                }
            }
        }
        self.body.implicit = false;
        self.body.dotted = false;
        self.header = Some(header);
        Ok(())
    }

    /// Attach the current section's body where its header says.
    fn finish(&mut self) -> Result<(), Rejected> {
        let body = std::mem::take(&mut self.body);
        let Some(Header { path, key, array }) = self.header.take() else {
            self.root = body;
            return Ok(());
        };
        let parent = descend(&mut self.root, &path, false)?;
        let found = parent.find(&key.text);
        match (found, array) {
            (Some(at), true) => match &mut parent.items[at].node {
                Node::Tables(tabs) => tabs.push(body),
                _ => return Err(Rejected),
            },
            (None, true) => {
                parent.push(key, Node::Tables(vec![body]));
            }
            // `header` removed it; nothing in a section's body can add it back.
            (Some(at), false) => parent.items[at].node = Node::Table(Box::new(body)),
            (None, false) => {
                parent.push(key, Node::Table(Box::new(body)));
            }
        }
        Ok(())
    }

    pub(super) fn end(mut self) -> Result<Tab, Rejected> {
        self.finish()?;
        Ok(self.root)
    }
}
