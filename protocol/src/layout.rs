//! The byte map of a frame: which bytes are the length prefix, the JSON header,
//! each header field, the content and each field inside JSON content.
//!
//! The encoder records spans while it writes and the decoder while it parses,
//! so the map is exact by construction. Spans are stored flat, in pre-order
//! (a parent always comes before its children), with ranges relative to the
//! first byte of the frame.

use std::borrow::Cow;
use std::ops::Range;

/// What a span covers. The UI picks one colour per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// The 2-byte big-endian length of the JSON header.
    LengthPrefix,
    /// The whole JSON header, braces included.
    Header,
    /// One `"key": value` member of the JSON header.
    HeaderField,
    /// The content (payload) after the header.
    Content,
    /// One `"key": value` member inside JSON content (at any depth).
    ContentField,
    /// One element of a JSON array inside the content.
    Item,
    /// The key of a field, quotes included.
    Key,
    /// The value of a field or item.
    Value,
}

/// One region of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Byte range within the frame.
    pub range: Range<usize>,
    /// What the bytes are.
    pub kind: SpanKind,
    /// A short name: `"length prefix"`, a field's key, `"[3]"` for an item.
    pub label: Cow<'static, str>,
    /// Index of the enclosing span in [`Layout::spans`].
    pub parent: Option<usize>,
}

/// All spans of one frame, in pre-order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Parents before children; see the module docs.
    pub spans: Vec<Span>,
}

impl Layout {
    /// Indices of the direct children of `index` (or of the top level for `None`).
    pub fn children(&self, index: Option<usize>) -> impl Iterator<Item = usize> + '_ {
        self.spans
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.parent == index)
            .map(|(i, _)| i)
    }

    /// The innermost span containing byte `offset`: what a hover over that byte names.
    pub fn innermost_at(&self, offset: usize) -> Option<usize> {
        // Pre-order means a later containing span is always deeper.
        self.spans.iter().rposition(|s| s.range.contains(&offset))
    }

    /// The chain of spans from the top level down to `index`.
    pub fn ancestry(&self, index: usize) -> Vec<usize> {
        let mut chain = vec![index];
        let mut at = index;
        while let Some(parent) = self.spans[at].parent {
            chain.push(parent);
            at = parent;
        }
        chain.reverse();
        chain
    }

    /// The first span of `kind`, if any.
    pub fn find(&self, kind: SpanKind) -> Option<&Span> {
        self.spans.iter().find(|s| s.kind == kind)
    }

    /// Moves every range by `delta` bytes (to place a frame inside a longer stream).
    pub fn shifted(mut self, delta: usize) -> Layout {
        for span in &mut self.spans {
            span.range = span.range.start + delta..span.range.end + delta;
        }
        self
    }
}

/// Records spans when a layout is wanted and costs one branch when it is not.
pub(crate) struct Recorder<'a> {
    spans: Option<&'a mut Vec<Span>>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(spans: Option<&'a mut Vec<Span>>) -> Self {
        Recorder { spans }
    }

    pub(crate) fn off() -> Self {
        Recorder { spans: None }
    }

    pub(crate) fn is_on(&self) -> bool {
        self.spans.is_some()
    }

    /// Opens a span whose end is not known yet; returns its index.
    pub(crate) fn open(
        &mut self,
        start: usize,
        kind: SpanKind,
        label: impl FnOnce() -> Cow<'static, str>,
        parent: Option<usize>,
    ) -> Option<usize> {
        let spans = self.spans.as_deref_mut()?;
        spans.push(Span {
            range: start..start,
            kind,
            label: label(),
            parent,
        });
        Some(spans.len() - 1)
    }

    pub(crate) fn close(&mut self, index: Option<usize>, end: usize) {
        if let (Some(spans), Some(i)) = (self.spans.as_deref_mut(), index) {
            spans[i].range.end = end;
        }
    }

    pub(crate) fn record(
        &mut self,
        range: Range<usize>,
        kind: SpanKind,
        label: &'static str,
        parent: Option<usize>,
    ) -> Option<usize> {
        let i = self.open(range.start, kind, || Cow::Borrowed(label), parent);
        self.close(i, range.end);
        i
    }

    pub(crate) fn set_label(&mut self, index: usize, label: Cow<'static, str>) {
        if let Some(spans) = self.spans.as_deref_mut() {
            spans[index].label = label;
        }
    }

    pub(crate) fn extend(&mut self, spans: impl IntoIterator<Item = Span>) {
        if let Some(all) = self.spans.as_deref_mut() {
            all.extend(spans);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn span(range: Range<usize>, kind: SpanKind, parent: Option<usize>) -> Span {
        Span {
            range,
            kind,
            label: Cow::Borrowed(""),
            parent,
        }
    }

    #[test]
    fn innermost_span_wins_over_its_ancestors() {
        let layout = Layout {
            spans: vec![
                span(0..10, SpanKind::Header, None),
                span(1..5, SpanKind::HeaderField, Some(0)),
                span(1..3, SpanKind::Key, Some(1)),
            ],
        };
        assert_eq!(layout.innermost_at(2), Some(2));
        assert_eq!(layout.innermost_at(4), Some(1));
        assert_eq!(layout.innermost_at(7), Some(0));
        assert_eq!(layout.innermost_at(10), None);
        assert_eq!(layout.ancestry(2), vec![0, 1, 2]);
        assert_eq!(layout.children(Some(0)).collect::<Vec<_>>(), vec![1]);
    }
}
