//! The subscription index (nats-server `sublist.go`): a trie of subject tokens where each node
//! has literal children plus a `*` child and a `>` child, so matching costs O(depth), not a scan.
//!
//! Nodes live in an arena (`Vec` + free list) and every walk is iterative: a subject with tens of
//! thousands of tokens can neither overflow the stack while matching nor while the index is
//! dropped. Each insert or removal bumps a generation counter; result caches (the shared one here
//! and the per-connection ones in the client) are valid only for the generation they were built
//! at, so a cached result can never deliver to a removed subscription or miss a new one.

use rnats_proto::subject::{FWC, PWC, TSEP};
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// What the index needs to know about a subscription.
pub trait SubEntry {
    /// Unique id of this subscription (server-wide).
    fn id(&self) -> u64;
    fn subject(&self) -> &[u8];
    fn queue(&self) -> Option<&[u8]>;
}

/// The subscriptions matching one literal subject.
#[derive(Debug)]
pub struct SubResult<S> {
    /// Plain subscriptions: each gets a copy.
    pub psubs: Vec<Arc<S>>,
    /// Queue groups: one member of each gets the message.
    pub qsubs: Vec<Vec<Arc<S>>>,
}

impl<S> SubResult<S> {
    fn empty() -> Self {
        SubResult {
            psubs: Vec::new(),
            qsubs: Vec::new(),
        }
    }
    /// True when nothing matches.
    pub fn is_empty(&self) -> bool {
        self.psubs.is_empty() && self.qsubs.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Lit(Box<[u8]>),
    Pwc,
    Fwc,
}

struct Node<S> {
    parent: usize,
    key: Key,
    children: FxHashMap<Box<[u8]>, usize>,
    pwc: Option<usize>,
    fwc: Option<usize>,
    psubs: FxHashMap<u64, Arc<S>>,
    qsubs: FxHashMap<Box<[u8]>, FxHashMap<u64, Arc<S>>>,
}

impl<S> Node<S> {
    fn new(parent: usize, key: Key) -> Self {
        Node {
            parent,
            key,
            children: FxHashMap::default(),
            pwc: None,
            fwc: None,
            psubs: FxHashMap::default(),
            qsubs: FxHashMap::default(),
        }
    }
    fn is_empty(&self) -> bool {
        self.children.is_empty()
            && self.pwc.is_none()
            && self.fwc.is_none()
            && self.psubs.is_empty()
            && self.qsubs.is_empty()
    }
}

struct Trie<S> {
    nodes: Vec<Option<Node<S>>>,
    free: Vec<usize>,
    count: usize,
}

const ROOT: usize = 0;
const CACHE_MAX: usize = 1024;

/// Why an insert was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SublistError {
    #[error("invalid subject")]
    InvalidSubject,
}

/// Counters for monitoring (`/subsz`, nats-server `SublistStats`).
///
/// `inserts`/`removes` count index changes. `matches` counts lookups in this shared index and
/// `cache_hits` those its result cache answered. Client readers keep their own per-connection
/// result cache and only come here on a miss (as the reference's per-client cache does), so
/// these are per lookup, not per published message: a steady publisher costs no atomic here.
#[derive(Debug, Default)]
pub struct SublistStats {
    pub inserts: AtomicU64,
    pub removes: AtomicU64,
    pub matches: AtomicU64,
    pub cache_hits: AtomicU64,
}

/// A point-in-time copy of an index's counters, plus the fanout of its cached results
/// (`len(psubs) + len(qsubs)` per cached subject, as the reference computes it).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct StatsSnapshot {
    pub subscriptions: u64,
    pub cache_len: u64,
    pub inserts: u64,
    pub removes: u64,
    pub matches: u64,
    pub cache_hits: u64,
    pub max_fanout: u64,
    pub total_fanout: u64,
}

/// Cached results by literal subject, each with the generation it was computed at.
type ResultCache<S> = Mutex<FxHashMap<Box<[u8]>, (u64, Arc<SubResult<S>>)>>;

/// The index. Readers match under a read lock; inserts and removals take the write lock.
pub struct Sublist<S> {
    trie: RwLock<Trie<S>>,
    cache: Option<ResultCache<S>>,
    generation: AtomicU64,
    pub stats: SublistStats,
}

impl<S> std::fmt::Debug for Sublist<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sublist")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

fn tokens(subject: &[u8]) -> impl Iterator<Item = &[u8]> {
    subject.split(|&b| b == TSEP)
}

impl<S: SubEntry> Sublist<S> {
    /// A new index; `cache` enables the shared result cache.
    pub fn new(cache: bool) -> Self {
        Sublist {
            trie: RwLock::new(Trie {
                nodes: vec![Some(Node::new(ROOT, Key::Fwc))],
                free: Vec::new(),
                count: 0,
            }),
            cache: cache.then(|| Mutex::new(FxHashMap::default())),
            generation: AtomicU64::new(0),
            stats: SublistStats::default(),
        }
    }

    /// The current generation; results computed at this generation stay valid until it changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Number of subscriptions.
    pub fn count(&self) -> usize {
        self.trie.read().map(|t| t.count).unwrap_or(0)
    }

    /// Number of cached results.
    pub fn cache_len(&self) -> usize {
        self.cache
            .as_ref()
            .and_then(|c| c.lock().ok().map(|c| c.len()))
            .unwrap_or(0)
    }

    /// The counters and the cache's fanout now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut st = StatsSnapshot {
            subscriptions: self.count() as u64,
            inserts: load(&self.stats.inserts),
            removes: load(&self.stats.removes),
            matches: load(&self.stats.matches),
            cache_hits: load(&self.stats.cache_hits),
            ..Default::default()
        };
        if let Some(c) = &self.cache
            && let Ok(c) = c.lock()
        {
            st.cache_len = c.len() as u64;
            for (_, r) in c.values() {
                let l = (r.psubs.len() + r.qsubs.len()) as u64;
                st.total_fanout += l;
                st.max_fanout = st.max_fanout.max(l);
            }
        }
        st
    }

    /// Called with the trie write lock held: results computed before this point carry an older
    /// generation and are never served again.
    fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(c) = &self.cache
            && let Ok(mut c) = c.lock()
        {
            c.clear();
        }
    }

    /// Insert a subscription. Refuses empty tokens and tokens after `>`.
    pub fn insert(&self, sub: Arc<S>) -> Result<(), SublistError> {
        if !rnats_proto::subject::is_valid_sub_subject(sub.subject()) {
            return Err(SublistError::InvalidSubject);
        }
        {
            let mut guard = self.trie.write().unwrap_or_else(|e| e.into_inner());
            let t = &mut *guard;
            let mut cur = ROOT;
            for tok in tokens(sub.subject()) {
                let key = if tok == [PWC] {
                    Key::Pwc
                } else if tok == [FWC] {
                    Key::Fwc
                } else {
                    Key::Lit(tok.into())
                };
                let existing = t.nodes[cur].as_ref().and_then(|n| match &key {
                    Key::Pwc => n.pwc,
                    Key::Fwc => n.fwc,
                    Key::Lit(l) => n.children.get(l).copied(),
                });
                cur = match existing {
                    Some(i) => i,
                    None => {
                        let node = Node::new(cur, key.clone());
                        let idx = match t.free.pop() {
                            Some(i) => {
                                t.nodes[i] = Some(node);
                                i
                            }
                            None => {
                                t.nodes.push(Some(node));
                                t.nodes.len() - 1
                            }
                        };
                        if let Some(parent) = t.nodes[cur].as_mut() {
                            match key {
                                Key::Pwc => parent.pwc = Some(idx),
                                Key::Fwc => parent.fwc = Some(idx),
                                Key::Lit(l) => {
                                    parent.children.insert(l, idx);
                                }
                            }
                        }
                        idx
                    }
                };
            }
            if let Some(node) = t.nodes[cur].as_mut() {
                let fresh = match sub.queue() {
                    None => node.psubs.insert(sub.id(), sub.clone()).is_none(),
                    Some(q) => node
                        .qsubs
                        .entry(q.into())
                        .or_default()
                        .insert(sub.id(), sub.clone())
                        .is_none(),
                };
                if fresh {
                    t.count += 1;
                }
            }
            self.invalidate();
        }
        self.stats.inserts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Remove a subscription; returns whether it was present.
    pub fn remove(&self, sub: &S) -> bool {
        let removed = {
            let mut guard = self.trie.write().unwrap_or_else(|e| e.into_inner());
            let t = &mut *guard;
            let mut cur = ROOT;
            let mut found = true;
            for tok in tokens(sub.subject()) {
                let next = t.nodes[cur].as_ref().and_then(|n| {
                    if tok == [PWC] {
                        n.pwc
                    } else if tok == [FWC] {
                        n.fwc
                    } else {
                        n.children.get(tok).copied()
                    }
                });
                match next {
                    Some(i) => cur = i,
                    None => {
                        found = false;
                        break;
                    }
                }
            }
            let mut removed = false;
            if found && let Some(node) = t.nodes[cur].as_mut() {
                removed = match sub.queue() {
                    None => node.psubs.remove(&sub.id()).is_some(),
                    Some(q) => match node.qsubs.get_mut(q) {
                        Some(members) => {
                            let r = members.remove(&sub.id()).is_some();
                            if members.is_empty() {
                                node.qsubs.remove(q);
                            }
                            r
                        }
                        None => false,
                    },
                };
            }
            if removed {
                t.count -= 1;
                // Prune empty nodes upwards.
                while cur != ROOT {
                    let Some(node) = t.nodes[cur].as_ref() else {
                        break;
                    };
                    if !node.is_empty() {
                        break;
                    }
                    let parent = node.parent;
                    let key = node.key.clone();
                    t.nodes[cur] = None;
                    t.free.push(cur);
                    if let Some(p) = t.nodes[parent].as_mut() {
                        match key {
                            Key::Pwc => p.pwc = None,
                            Key::Fwc => p.fwc = None,
                            Key::Lit(l) => {
                                p.children.remove(&l);
                            }
                        }
                    }
                    cur = parent;
                }
                self.invalidate();
            }
            removed
        };
        if removed {
            self.stats.removes.fetch_add(1, Ordering::Relaxed);
        }
        removed
    }

    /// All subscriptions matching a literal subject (a publish subject may contain `*`/`>`
    /// tokens; they are matched as literals, and wildcard subscriptions still match them).
    pub fn match_subject(&self, subject: &[u8]) -> Arc<SubResult<S>> {
        self.match_subject_gen(subject).1
    }

    /// [`Self::match_subject`], with the generation the result is exact for.
    pub fn match_subject_gen(&self, subject: &[u8]) -> (u64, Arc<SubResult<S>>) {
        self.stats.matches.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = &self.cache
            && let Ok(c) = c.lock()
            && let Some((g, r)) = c.get(subject)
            && *g == self.generation()
        {
            self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            return (*g, r.clone());
        }
        let (generation, result) = self.compute(subject);
        let result = Arc::new(result);
        if let Some(c) = &self.cache
            && let Ok(mut c) = c.lock()
            && self.generation() == generation
        {
            if c.len() >= CACHE_MAX {
                c.clear();
            }
            c.insert(subject.into(), (generation, result.clone()));
        }
        (generation, result)
    }

    /// Match under the read lock; the generation read under the same lock is exact for it.
    fn compute(&self, subject: &[u8]) -> (u64, SubResult<S>) {
        let mut res = SubResult::empty();
        let t = self.trie.read().unwrap_or_else(|e| e.into_inner());
        let generation = self.generation();
        let toks: Vec<&[u8]> = tokens(subject).collect();
        if subject.is_empty() || toks.iter().any(|t| t.is_empty()) {
            return (generation, res);
        }
        let mut qidx: FxHashMap<Box<[u8]>, usize> = FxHashMap::default();
        let mut add = |node: &Node<S>, res: &mut SubResult<S>| {
            res.psubs.extend(node.psubs.values().cloned());
            for (q, members) in &node.qsubs {
                let i = *qidx.entry(q.clone()).or_insert_with(|| {
                    res.qsubs.push(Vec::new());
                    res.qsubs.len() - 1
                });
                res.qsubs[i].extend(members.values().cloned());
            }
        };
        // Iterative walk: (node, index of the next token to consume).
        let mut stack: Vec<(usize, usize)> = vec![(ROOT, 0)];
        while let Some((idx, ti)) = stack.pop() {
            let Some(node) = t.nodes[idx].as_ref() else {
                continue;
            };
            let last = ti + 1 == toks.len();
            if let Some(f) = node.fwc.and_then(|i| t.nodes[i].as_ref()) {
                add(f, &mut res);
            }
            for child in [node.pwc, node.children.get(toks[ti]).copied()]
                .into_iter()
                .flatten()
            {
                if last {
                    if let Some(c) = t.nodes[child].as_ref() {
                        add(c, &mut res);
                    }
                } else {
                    stack.push((child, ti + 1));
                }
            }
        }
        (generation, res)
    }

    /// Every subscription, for monitoring.
    pub fn all(&self) -> Vec<Arc<S>> {
        let t = self.trie.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::with_capacity(t.count);
        for n in t.nodes.iter().flatten() {
            out.extend(n.psubs.values().cloned());
            for m in n.qsubs.values() {
                out.extend(m.values().cloned());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
