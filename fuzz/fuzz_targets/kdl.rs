//! The fast KDL reader against the kdl crate: whenever the fast reader returns a document, the
//! crate must parse the same text to the same nodes, values and spans.
#![no_main]

use kdl::KdlDocument;
use libfuzzer_sys::fuzz_target;

fn shape(doc: &KdlDocument) -> Vec<String> {
    fn walk(d: &KdlDocument, out: &mut Vec<String>) {
        for n in d.nodes() {
            out.push(format!(
                "node {:?} {:?} {:?}",
                n.name().value(),
                (n.name().span().offset(), n.name().span().len()),
                (n.span().offset(), n.span().len())
            ));
            for e in n.entries() {
                out.push(format!(
                    "entry {:?} {:?} {:?} {:?}",
                    e.name().map(|k| (k.value().to_string(), k.span().offset(), k.span().len())),
                    e.value(),
                    e.span().offset(),
                    e.span().len()
                ));
            }
            if let Some(c) = n.children() {
                out.push("{".into());
                walk(c, out);
                out.push("}".into());
            }
        }
    }
    let mut out = vec![];
    walk(doc, &mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Deep nesting is refused before any parser runs (profile::precheck); stay within it.
    if text.matches('{').count() > 64 {
        return;
    }
    if let Some(fast) = flinkgen::profile::kdl_fast::parse(text) {
        let slow = KdlDocument::parse_v2(text)
            .unwrap_or_else(|e| panic!("fast reader accepted what kdl rejects: {text:?}: {e}"));
        assert_eq!(shape(&fast), shape(&slow), "{text:?}");
    }
});
