//! Policy packs: the built-in packs (embedded at build time) plus user packs from `--policies`.

pub mod expr;
pub mod flink_options;
pub mod kafka_model;
pub mod pack;

use std::collections::BTreeMap;
use std::path::Path;

pub use pack::{InstanceType, Layer, NodeReserve, Pack, Reserve, Rule};

use crate::diag::{Diagnostic, InputErrors, Sources, Span};
use crate::profile::Scalar;

pub mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Every pack of a run.
#[derive(Debug, Clone, Default)]
pub struct PackSet {
    pub packs: Vec<Pack>,
}

impl PackSet {
    /// The built-in packs, plus every `*.kdl` below each user directory (organisation or practice).
    pub fn load(sources: &mut Sources, user_dirs: &[&Path]) -> Result<PackSet, InputErrors> {
        let mut errors = vec![];
        let mut packs = vec![];
        for ((path, text), (_, sha256)) in embedded::BUILTIN_PACKS
            .iter()
            .zip(embedded::BUILTIN_PACK_SHA256)
        {
            let id = sources.add(format!("<builtin>/policies/{path}"), *text);
            match pack::read_pack(sources, id) {
                Ok(mut p) => {
                    p.sha256 = (*sha256).to_string();
                    packs.push(p);
                }
                Err(e) => errors.extend(e.0),
            }
        }
        for dir in user_dirs {
            let mut files = vec![];
            if let Err(e) = collect_kdl(dir, &mut files) {
                errors.push(
                    Diagnostic::error(format!(
                        "cannot read policy directory {}: {e}",
                        dir.display()
                    ))
                    .with_help(
                        "--policies takes a directory of *.kdl packs that exists and is readable",
                    ),
                );
                continue;
            }
            for f in files {
                match crate::profile::read_bounded(&f) {
                    Ok(text) => {
                        let id = sources.add(f.display().to_string(), text);
                        match pack::read_pack(sources, id) {
                            Ok(mut p) => {
                                p.sha256 = pack::sha256_hex(&sources.get(id).text);
                                packs.push(p);
                            }
                            Err(e) => errors.extend(e.0),
                        }
                    }
                    Err(e) => errors.push(Diagnostic::error(format!(
                        "cannot read policy pack {}: {e}",
                        f.display()
                    ))),
                }
            }
        }
        // Two packs of one name and version would make provenance ambiguous.
        for (i, a) in packs.iter().enumerate() {
            if let Some(b) = packs[..i].iter().find(|b| b.name == a.name) {
                errors.push(
                    Diagnostic::error(format!("two policy packs are named `{}`", a.name))
                        .with_label(b.span, "first here")
                        .with_label(a.span, "again here")
                        .with_help("give each pack a unique name"),
                );
            }
        }
        if errors.is_empty() {
            Ok(PackSet { packs })
        } else {
            Err(InputErrors(errors))
        }
    }

    pub fn instance(&self, name: &str) -> Option<(&InstanceType, &Pack)> {
        self.packs
            .iter()
            .find_map(|p| p.instances.iter().find(|i| i.name == name).map(|i| (i, p)))
    }
    pub fn instance_names(&self) -> Vec<&str> {
        self.packs
            .iter()
            .flat_map(|p| p.instances.iter().map(|i| i.name.as_str()))
            .collect()
    }
    pub fn reserve(&self, name: &str) -> Option<&NodeReserve> {
        self.packs
            .iter()
            .find_map(|p| p.reserves.iter().find(|r| r.name == name))
    }
    /// The product pack of `product` (`flink`, `kafka`, `connector`, `operator`) applying to the selectors.
    pub fn product<'a>(
        &'a self,
        product: &str,
        selectors: &BTreeMap<&str, String>,
    ) -> Option<&'a Pack> {
        self.packs.iter().find(|p| {
            p.layer == Layer::Product
                && p.applies.iter().any(|(k, _)| k == product)
                && p.applies_to(selectors)
        })
    }
    /// Practice and organisation packs that apply, practice first.
    pub fn policy_packs<'a>(&'a self, selectors: &BTreeMap<&str, String>) -> Vec<&'a Pack> {
        let mut v: Vec<&Pack> = self
            .packs
            .iter()
            .filter(|p| p.layer != Layer::Product && p.applies_to(selectors))
            .collect();
        v.sort_by_key(|p| p.layer);
        v
    }
    /// A model parameter: the organisation's value over the practice pack's.
    pub fn param<'a>(
        &'a self,
        selectors: &BTreeMap<&str, String>,
        name: &str,
    ) -> Option<(&'a Scalar, &'a Pack, Span)> {
        self.policy_packs(selectors)
            .into_iter()
            .rev()
            .find_map(|p| p.params.get(name).map(|(v, s)| (v, p, *s)))
    }
}

fn collect_kdl(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_kdl(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "kdl") {
            out.push(p);
        }
    }
    Ok(())
}
