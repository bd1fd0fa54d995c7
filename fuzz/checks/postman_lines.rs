//! sqs-postman NDJSON input, one message per line (each line a template):
//! every line is either packed into a well-formed batch entry whose body is
//! the rendered line, or rejected; never a panic.

pub fn check(data: &[u8]) {
    use sqs_postman::cli::{AttrType, AttributeArg};
    use sqs_postman::source::{Fifo, Groups, Packer};
    use sqs_postman::template::Template;
    let attrs = [AttributeArg {
        name: "n".into(),
        data_type: AttrType::String,
        value: "%seq%-%rand_hex(4)%".into(),
    }];
    let fifo = Fifo {
        groups: Groups::RoundRobin {
            prefix: "g".into(),
            k: 3,
        },
        run_id: "run".into(),
    };
    let max = 4096;
    let Ok(packer) = Packer::new(&attrs, Some(fifo), Some(0), max, true) else {
        return;
    };
    let mut seq = 0;
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        seq += 1;
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        let Ok(t) = Template::parse(text) else {
            continue;
        };
        let body = t.render(seq);
        let Ok(p) = packer.pack(seq, &body) else {
            continue;
        };
        assert!(p.size <= max);
        let mut entry = b"{\"Id\":\"0\"".to_vec();
        entry.extend_from_slice(&p.json);
        entry.push(b'}');
        let v: serde_json::Value = serde_json::from_slice(&entry).expect("entry is JSON");
        assert_eq!(v["MessageBody"].as_str(), Some(body.as_str()));
    }
}
