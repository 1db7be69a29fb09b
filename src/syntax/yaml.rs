//! YAML with byte spans for every node, built on `saphyr-parser`'s event stream.
//!
//! Why our own tree: rules need the exact byte range of every key and value (to underline it and
//! to mask secrets), multi-document files, anchors without alias expansion (so an alias bomb
//! costs nothing), and a hard nesting limit instead of a stack overflow.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Deepest nesting accepted; deeper documents are reported instead of parsed.
pub const MAX_DEPTH: usize = 256;

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

/// A YAML node with the byte range it covers in the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Scalar {
        value: String,
        style: Style,
        tag: Option<String>,
        span: Range<usize>,
    },
    Seq {
        items: Vec<Node>,
        span: Range<usize>,
    },
    Map {
        entries: Vec<(Node, Node)>,
        span: Range<usize>,
    },
    /// `*name`: not expanded. `target` is the scalar the anchor named, when it was a scalar;
    /// shared, so a big scalar aliased many times is stored once.
    Alias {
        target: Option<Arc<Node>>,
        span: Range<usize>,
    },
}

impl Node {
    /// This node and every node below it, keys included, in source order, without recursion
    /// (documents can be deep).
    pub fn descendants(&self) -> impl Iterator<Item = &Node> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let n = stack.pop()?;
            match n {
                Node::Seq { items, .. } => stack.extend(items.iter().rev()),
                Node::Map { entries, .. } => {
                    for (k, v) in entries.iter().rev() {
                        stack.push(v);
                        stack.push(k);
                    }
                }
                Node::Scalar { .. } | Node::Alias { .. } => {}
            }
            Some(n)
        })
    }

    /// The node's byte range in the source.
    pub fn span(&self) -> Range<usize> {
        match self {
            Node::Scalar { span, .. }
            | Node::Seq { span, .. }
            | Node::Map { span, .. }
            | Node::Alias { span, .. } => span.clone(),
        }
    }

    /// The scalar text, looking through an alias to a scalar anchor.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, .. } => Some(value),
            Node::Alias {
                target: Some(t), ..
            } => t.as_str(),
            _ => None,
        }
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map { entries, .. } => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follows a path of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }
}

/// A parse problem with its byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub offset: usize,
}

/// The documents of a YAML stream, and the first error if the stream is malformed (documents
/// before the error are kept).
#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub docs: Vec<Node>,
    pub error: Option<YamlError>,
}

/// Converts saphyr's character indices to byte offsets.
struct Offsets<'a> {
    text: &'a str,
    /// `None` for ASCII text, where both are the same.
    table: Option<Vec<usize>>,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        let table = if text.is_ascii() {
            None
        } else {
            let mut t: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
            t.push(text.len());
            Some(t)
        };
        Offsets { text, table }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.text.len()),
            Some(t) => t.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    fn range(&self, span: &Span) -> Range<usize> {
        let start = self.byte(span.start.index());
        let end = self.byte(span.end.index()).max(start);
        start..end
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: usize,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        start: usize,
        anchor: usize,
    },
}

/// Parses a YAML stream. Never panics; a malformed stream keeps the documents before the error.
pub fn parse(text: &str) -> Stream {
    let offsets = Offsets::new(text);
    let mut stream = Stream::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Arc<Node>> = std::collections::HashMap::new();
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Err(e)) => {
                stream.error = Some(YamlError {
                    message: e.info().to_string(),
                    offset: offsets.byte(e.marker().index()),
                });
                break;
            }
            Some(Ok(ev)) => ev,
        };
        let range = offsets.range(&span);
        let node = match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => continue,
            Event::DocumentEnd => continue,
            Event::StreamEnd => break,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    stream.error = Some(YamlError {
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                        offset: range.start,
                    });
                    return stream;
                }
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        start: range.start,
                        anchor,
                    }
                } else {
                    Frame::Map {
                        entries: Vec::new(),
                        pending_key: None,
                        start: range.start,
                        anchor,
                    }
                };
                stack.push(frame);
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else { continue };
                let (node, anchor) = match frame {
                    Frame::Seq {
                        items,
                        start,
                        anchor,
                    } => {
                        let end = items.last().map_or(range.end, |n| n.span().end).max(start);
                        (
                            Node::Seq {
                                items,
                                span: start..end,
                            },
                            anchor,
                        )
                    }
                    Frame::Map {
                        entries,
                        start,
                        anchor,
                        ..
                    } => {
                        let end = entries
                            .last()
                            .map_or(range.end, |(_, v)| v.span().end)
                            .max(start);
                        (
                            Node::Map {
                                entries,
                                span: start..end,
                            },
                            anchor,
                        )
                    }
                };
                // Only scalar anchors are remembered: collections are never expanded.
                let _ = anchor;
                node
            }
            Event::Scalar(value, style, anchor, tag) => {
                let node = Node::Scalar {
                    value: value.into_owned(),
                    style: match style {
                        ScalarStyle::Plain => Style::Plain,
                        ScalarStyle::Literal | ScalarStyle::Folded => Style::Block,
                        _ => Style::Quoted,
                    },
                    tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                    span: range.clone(),
                };
                if anchor > 0 {
                    anchors.insert(anchor, Arc::new(node.clone()));
                }
                node
            }
            Event::Alias(id) => Node::Alias {
                target: anchors.get(&id).cloned(),
                span: range.clone(),
            },
        };
        match stack.last_mut() {
            None => stream.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
    stream
}

/// Checks that `text` parses, without building a tree: the same error `parse` would report
/// (message and offset), at a fraction of the cost.
pub fn validate(text: &str) -> Option<YamlError> {
    let mut depth = 0usize;
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_event() {
            None => return None,
            Some(Err(e)) => {
                return Some(YamlError {
                    message: e.info().to_string(),
                    offset: Offsets::new(text).byte(e.marker().index()),
                });
            }
            Some(Ok((event, span))) => match event {
                Event::StreamEnd => return None,
                Event::SequenceStart(..) | Event::MappingStart(..) => {
                    if depth >= MAX_DEPTH {
                        return Some(YamlError {
                            message: format!("nesting deeper than {MAX_DEPTH} levels"),
                            offset: Offsets::new(text).range(&span).start,
                        });
                    }
                    depth += 1;
                }
                Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
}

/// Finds `needle` inside the source text of `span`, for pointing at a part of a scalar whose
/// source differs from its value (block scalars, escapes). Falls back to the whole span.
pub fn locate(text: &str, span: &Range<usize>, needle: &str) -> Range<usize> {
    let hay = text.get(span.clone()).unwrap_or("");
    match (
        needle.is_empty(),
        memchr::memmem::find(hay.as_bytes(), needle.as_bytes()),
    ) {
        (false, Some(i)) => span.start + i..span.start + i + needle.len(),
        _ => span.clone(),
    }
}

/// The source text of a scalar as written (quotes included), for display.
pub fn raw<'a>(text: &'a str, span: &Range<usize>) -> Cow<'a, str> {
    Cow::Borrowed(text.get(span.clone()).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every scalar with its source text, in source order (through `Node::descendants`).
    fn scalar_spans(text: &str) -> Vec<(String, String)> {
        let s = parse(text);
        assert!(s.error.is_none(), "{:?}", s.error);
        s.docs
            .iter()
            .flat_map(Node::descendants)
            .filter_map(|n| match n {
                Node::Scalar { value, span, .. } => {
                    Some((value.clone(), text[span.clone()].to_string()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn plain_and_quoted_scalars_have_exact_spans() {
        let got = scalar_spans("a: b\n\"q\": 'x y'\nn: {k: v}\n");
        assert_eq!(got[0], ("a".into(), "a".into()));
        assert_eq!(got[1], ("b".into(), "b".into()));
        assert_eq!(got[2].0, "q");
        assert!(got[2].1.contains('q'));
        assert_eq!(got[3].0, "x y");
        assert!(got[3].1.contains("x y"));
        assert_eq!(got[6], ("v".into(), "v".into()));
    }

    #[test]
    fn non_ascii_text_maps_char_indices_to_bytes() {
        let text = "é: ü\nk: välue\n";
        let got = scalar_spans(text);
        assert_eq!(got[3], ("välue".into(), "välue".into()));
    }

    #[test]
    fn multi_document_streams_keep_every_document() {
        let s = parse("a: 1\n---\nb: 2\n---\nc: 3\n");
        assert_eq!(s.docs.len(), 3);
        assert_eq!(s.docs[2].get("c").and_then(Node::as_str), Some("3"));
    }

    #[test]
    fn aliases_point_at_scalar_anchors_without_expansion() {
        let s = parse("h: &h db.prod.internal\nx: *h\n");
        assert_eq!(
            s.docs[0].get("x").and_then(Node::as_str),
            Some("db.prod.internal")
        );
    }

    #[test]
    fn alias_bomb_is_cheap() {
        let mut y = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for i in 0..20 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            y.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let s = parse(&y);
        assert_eq!(s.docs.len(), 1);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let y = "[".repeat(10_000) + &"]".repeat(10_000);
        let s = parse(&y);
        let e = s.error.expect("an error");
        assert!(
            e.message.contains("nesting") || e.message.contains("recursion"),
            "{}",
            e.message
        );
    }

    #[test]
    fn malformed_yaml_reports_an_offset() {
        let s = parse("a: b\n  c: [\n");
        assert!(s.error.is_some());
    }

    #[test]
    fn block_scalars_locate_inner_text() {
        let text = "conf: |\n  fsync = off\n  x = 1\n";
        let s = parse(text);
        let v = s.docs[0].get("conf").unwrap();
        let r = locate(text, &v.span(), "fsync = off");
        assert_eq!(&text[r], "fsync = off");
    }

    #[test]
    fn crlf_and_bom_free_text_parse() {
        let s = parse("a: 1\r\nb: two\r\n");
        assert_eq!(s.docs[0].get("b").and_then(Node::as_str), Some("two"));
    }
}
