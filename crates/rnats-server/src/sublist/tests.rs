use super::*;

#[derive(Debug)]
struct T {
    id: u64,
    subject: Vec<u8>,
    queue: Option<Vec<u8>>,
}

impl SubEntry for T {
    fn id(&self) -> u64 {
        self.id
    }
    fn subject(&self) -> &[u8] {
        &self.subject
    }
    fn queue(&self) -> Option<&[u8]> {
        self.queue.as_deref()
    }
}

fn sub(id: u64, s: &str, q: Option<&str>) -> Arc<T> {
    Arc::new(T {
        id,
        subject: s.as_bytes().to_vec(),
        queue: q.map(|q| q.as_bytes().to_vec()),
    })
}

fn ids(r: &SubResult<T>) -> Vec<u64> {
    let mut v: Vec<u64> = r.psubs.iter().map(|s| s.id).collect();
    v.sort();
    v
}

#[test]
fn literal_and_wildcards() {
    for cache in [false, true] {
        let sl = Sublist::new(cache);
        let subs = [
            sub(1, "foo.bar", None),
            sub(2, "foo.*", None),
            sub(3, "foo.>", None),
            sub(4, ">", None),
            sub(5, "*.bar", None),
            sub(6, "foo", None),
            sub(7, "*.*.baz", None),
        ];
        for s in &subs {
            sl.insert(s.clone()).expect("insert");
        }
        assert_eq!(ids(&sl.match_subject(b"foo.bar")), vec![1, 2, 3, 4, 5]);
        assert_eq!(ids(&sl.match_subject(b"foo")), vec![4, 6]);
        assert_eq!(ids(&sl.match_subject(b"foo.bar.baz")), vec![3, 4, 7]);
        assert_eq!(ids(&sl.match_subject(b"foo..bar")), Vec::<u64>::new());
        assert_eq!(ids(&sl.match_subject(b"foo.*")), vec![2, 3, 4]);
        assert!(sl.remove(&subs[1]));
        assert!(!sl.remove(&subs[1]));
        assert_eq!(ids(&sl.match_subject(b"foo.bar")), vec![1, 3, 4, 5]);
        for s in &subs {
            sl.remove(s);
        }
        assert_eq!(sl.count(), 0);
        // The arena was pruned back to the root.
        let t = sl.trie.read().expect("lock");
        assert_eq!(t.nodes.iter().flatten().count(), 1);
    }
}

#[test]
fn queues_group_by_name() {
    let sl = Sublist::new(true);
    sl.insert(sub(1, "q.>", Some("a"))).expect("i");
    sl.insert(sub(2, "q.x", Some("a"))).expect("i");
    sl.insert(sub(3, "q.x", Some("b"))).expect("i");
    sl.insert(sub(4, "q.x", None)).expect("i");
    let r = sl.match_subject(b"q.x");
    assert_eq!(r.psubs.len(), 1);
    let mut sizes: Vec<usize> = r.qsubs.iter().map(|g| g.len()).collect();
    sizes.sort();
    assert_eq!(sizes, vec![1, 2]);
}

#[test]
fn invalid_subjects_rejected() {
    let sl = Sublist::new(false);
    for bad in ["", "foo..bar", "foo.>.bar", ".foo", "foo."] {
        assert_eq!(
            sl.insert(sub(1, bad, None)),
            Err(SublistError::InvalidSubject),
            "{bad}"
        );
    }
}

#[test]
fn generation_changes_on_every_mutation() {
    let sl = Sublist::new(true);
    let g0 = sl.generation();
    let s = sub(1, "a", None);
    sl.insert(s.clone()).expect("i");
    let g1 = sl.generation();
    assert_ne!(g0, g1);
    assert_eq!(sl.match_subject(b"a").psubs.len(), 1);
    sl.remove(&s);
    assert_ne!(sl.generation(), g1);
    assert!(sl.match_subject(b"a").is_empty());
}

#[test]
fn very_deep_subjects_do_not_overflow() {
    let sl = Sublist::new(true);
    let deep = vec!["a"; 200_000].join(".");
    let s = sub(1, &deep, None);
    sl.insert(s.clone()).expect("i");
    sl.insert(sub(2, ">", None)).expect("i");
    assert_eq!(sl.match_subject(deep.as_bytes()).psubs.len(), 2);
    drop(sl);
}
