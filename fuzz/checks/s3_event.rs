//! S3 event notification bodies (SQS message, SNS envelope, Lambda event):
//! `s3_copier::events::parse` never panics; every record's kind matches its
//! name, and a handled sequencer makes the same record stale.

pub fn check(data: &[u8]) {
    use s3_copier::events::{parse, sequencer_cmp, Kind, Sequencers};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(records) = parse(text) else {
        return;
    };
    let mut seen = Sequencers::new(4);
    for r in &records {
        assert_eq!(r.kind, Kind::of(&r.event_name));
        if let Some(s) = &r.sequencer {
            assert_eq!(sequencer_cmp(s, s), std::cmp::Ordering::Equal);
        }
        let _ = seen.is_stale(r);
        seen.handled(r);
        assert!(r.sequencer.is_none() || seen.is_stale(r), "{r:?}");
    }
}
