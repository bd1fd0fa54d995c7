//! The template as an ordered tree: mappings keep their keys in the order
//! they were added, so the YAML and JSON renderings read top-down alike
//! (resources before outputs, `Type` before `Properties`).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A JSON-like value whose mappings keep their order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

static NULL: Node = Node::Null;

impl Node {
    /// An empty mapping.
    pub fn map() -> Self {
        Node::Map(Vec::new())
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets `key` (replacing its value in place, or appending it); a no-op
    /// on anything but a mapping.
    pub fn insert(&mut self, key: &str, value: Node) {
        if let Node::Map(entries) = self {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => entries.push((key.to_string(), value)),
            }
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The keys of a mapping, in order.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Node::Map(entries) => entries.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

/// `node["Resources"]["SpotGroup"]`: [`Node::Null`] when a key is missing.
impl std::ops::Index<&str> for Node {
    type Output = Node;

    fn index(&self, key: &str) -> &Node {
        self.get(key).unwrap_or(&NULL)
    }
}

impl From<&str> for Node {
    fn from(s: &str) -> Self {
        Node::Str(s.to_string())
    }
}

impl From<String> for Node {
    fn from(s: String) -> Self {
        Node::Str(s)
    }
}

impl From<bool> for Node {
    fn from(b: bool) -> Self {
        Node::Bool(b)
    }
}

impl From<u32> for Node {
    fn from(n: u32) -> Self {
        Node::Int(i64::from(n))
    }
}

impl From<i64> for Node {
    fn from(n: i64) -> Self {
        Node::Int(n)
    }
}

impl From<f64> for Node {
    fn from(v: f64) -> Self {
        Node::Float(v)
    }
}

impl From<Vec<Node>> for Node {
    fn from(items: Vec<Node>) -> Self {
        Node::Seq(items)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Int(n) => s.serialize_i64(*n),
            Node::Float(v) => s.serialize_f64(*v),
            Node::Str(text) => s.serialize_str(text),
            Node::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// An ordered mapping: `map([("Type", s("...")), ...])`.
pub fn map<const N: usize>(entries: [(&str, Node); N]) -> Node {
    Node::Map(entries.map(|(k, v)| (k.to_string(), v)).into())
}

/// A string.
pub fn s(v: impl Into<String>) -> Node {
    Node::Str(v.into())
}

/// `{Ref: id}`.
pub fn r(logical_id: &str) -> Node {
    map([("Ref", s(logical_id))])
}

/// `{Fn::GetAtt: [id, attr]}`.
pub fn get_att(logical_id: &str, attr: &str) -> Node {
    map([("Fn::GetAtt", Node::Seq(vec![s(logical_id), s(attr)]))])
}

/// `{Fn::Sub: text}`.
pub fn sub(text: impl Into<String>) -> Node {
    map([("Fn::Sub", s(text))])
}

/// A sequence of strings.
pub fn strings(items: &[String]) -> Node {
    Node::Seq(items.iter().map(|i| s(i.as_str())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_keep_their_order_and_replace_in_place() {
        let mut m = map([("b", s("1")), ("a", Node::from(2u32))]);
        m.insert("b", s("3"));
        m.insert("c", Node::from(true));
        assert_eq!(m.keys(), ["b", "a", "c"]);
        assert_eq!(m["b"].as_str(), Some("3"));
        assert_eq!(m["missing"]["deeper"], Node::Null);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"b":"3","a":2,"c":true}"#
        );
    }
}
