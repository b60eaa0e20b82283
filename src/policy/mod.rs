//! Policy packs: the built-in packs (embedded at build time) plus user packs from `--policies`.

pub mod expr;
pub mod flink_options;
pub mod kafka_model;
pub mod pack;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::OnceLock;

pub use pack::{InstanceType, Layer, NodeReserve, Pack, Reserve, Rule};

use crate::diag::{Diagnostic, InputErrors, Sources};

pub mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Every pack of a run.
///
/// The built-in packs of one product release — `flink/1.20.kdl`, `kafka/3.9.kdl`,
/// `operator/1.15.kdl`, `connector/kafka-3.kdl` — are read on first use: a build needs one
/// release of each product, and reading all of them was a third of a one-job build's
/// instructions. Such a pack's name (`flink-1.20`) and `applies` (`flink="1.20"`) follow from
/// its path; tests/policies.rs checks that for every built-in pack.
#[derive(Debug, Clone, Default)]
pub struct PackSet {
    slots: Vec<Slot>,
}

#[derive(Debug, Clone)]
enum Slot {
    Read(Pack),
    Deferred(Deferred),
}

/// A built-in product pack not read yet.
#[derive(Debug, Clone)]
struct Deferred {
    file: u32,
    text: &'static str,
    sha256: &'static str,
    /// `flink`, `kafka`, `operator` or `connector`.
    product: &'static str,
    /// The release it applies to: `1.20`, `3` (connector/kafka-3.kdl).
    release: &'static str,
    /// `flink-1.20`, `connector-kafka-3`.
    name: String,
    pack: OnceLock<Option<Pack>>,
}

impl Deferred {
    /// From a built-in pack's path, when it is one product release's pack.
    fn from_path(path: &'static str) -> Option<(&'static str, &'static str, String)> {
        let (product, file) = path.split_once('/')?;
        let stem = file.strip_suffix(".kdl")?;
        let product = ["flink", "kafka", "operator", "connector"]
            .into_iter()
            .find(|p| *p == product)?;
        if stem.contains('/') {
            return None;
        }
        let release = stem.rsplit('-').next()?;
        Some((product, release, format!("{product}-{stem}")))
    }

    fn get(&self) -> Option<&Pack> {
        self.pack
            .get_or_init(|| {
                // Built-in packs all read (tests/policies.rs); an error here cannot happen.
                pack::read_pack_text(self.text, self.file)
                    .ok()
                    .map(|mut p| {
                        p.sha256 = self.sha256.to_string();
                        p
                    })
            })
            .as_ref()
    }
}

impl Slot {
    fn name(&self) -> &str {
        match self {
            Slot::Read(p) => &p.name,
            Slot::Deferred(d) => &d.name,
        }
    }
    fn pack(&self) -> Option<&Pack> {
        match self {
            Slot::Read(p) => Some(p),
            Slot::Deferred(d) => d.get(),
        }
    }
}

impl PackSet {
    /// The built-in packs, plus every `*.kdl` below each user directory (organisation or practice).
    pub fn load(sources: &mut Sources, user_dirs: &[&Path]) -> Result<PackSet, InputErrors> {
        let mut errors = vec![];
        let mut slots = vec![];
        // The other built-in packs are read now, in parallel, and kept in their embedded order.
        let mut eager: Vec<(usize, u32, &str)> = vec![];
        for ((path, text), (_, sha256)) in embedded::BUILTIN_PACKS
            .iter()
            .zip(embedded::BUILTIN_PACK_SHA256)
        {
            let file = sources.add(format!("<builtin>/policies/{path}"), *text);
            match Deferred::from_path(path) {
                Some((product, release, name)) => {
                    slots.push(Some(Slot::Deferred(Deferred {
                        file,
                        text,
                        sha256,
                        product,
                        release,
                        name,
                        pack: OnceLock::new(),
                    })));
                }
                None => {
                    eager.push((slots.len(), file, sha256));
                    slots.push(None);
                }
            }
        }
        let read: Vec<(usize, Result<Pack, InputErrors>)> = {
            use rayon::prelude::*;
            let sources = &*sources;
            eager
                .par_iter()
                .map(|(at, file, sha256)| {
                    let r = pack::read_pack(sources, *file).map(|mut p| {
                        p.sha256 = (*sha256).to_string();
                        p
                    });
                    (*at, r)
                })
                .collect()
        };
        for (at, r) in read {
            match r {
                Ok(p) => slots[at] = Some(Slot::Read(p)),
                Err(e) => errors.extend(e.0),
            }
        }
        let mut slots: Vec<Slot> = slots.into_iter().flatten().collect();
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
                        // A pack holds no literal credential: refused, and masked before any
                        // report (this one included) quotes the pack.
                        if let Ok(doc) = crate::profile::parse_kdl(sources, id) {
                            for span in crate::profile::pack_secret_spans(&doc, id) {
                                sources.redact(span);
                                errors.push(crate::profile::literal_secret_error(
                                    "this pack setting",
                                    span,
                                    "packs follow the profiles' rule: credentials are config-provider references in Kafka client settings (`${dir:…}`, `${env:…}`), never literals",
                                ));
                            }
                        }
                        match pack::read_pack(sources, id) {
                            Ok(mut p) => {
                                p.sha256 = crate::emit::sha256_hex(sources.get(id).text.as_bytes());
                                slots.push(Slot::Read(p));
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
        // Two packs of one name would make provenance ambiguous.
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, slot) in slots.iter().enumerate() {
            let Some(&j) = first.get(slot.name()) else {
                first.insert(slot.name(), i);
                continue;
            };
            let mut d = Diagnostic::error(format!("two policy packs are named `{}`", slot.name()));
            if let Some(b) = slots[j].pack() {
                d = d.with_label(b.span, "first here");
            }
            if let Some(a) = slot.pack() {
                d = d.with_label(a.span, "again here");
            }
            errors.push(d.with_help("give each pack a unique name"));
        }
        if errors.is_empty() {
            Ok(PackSet { slots })
        } else {
            Err(InputErrors(errors))
        }
    }

    /// Every pack, built-in first, reading any not read yet (for listings, not for builds).
    pub fn packs(&self) -> impl Iterator<Item = &Pack> {
        self.slots.iter().filter_map(Slot::pack)
    }

    /// The packs read at load: all but the built-in product releases, which hold no instance
    /// types, node reserves, rules or parameters of other layers.
    fn read(&self) -> impl Iterator<Item = &Pack> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Read(p) => Some(p),
            Slot::Deferred(_) => None,
        })
    }

    /// The pack of this name.
    pub fn named(&self, name: &str) -> Option<&Pack> {
        self.slots
            .iter()
            .find(|s| s.name() == name)
            .and_then(Slot::pack)
    }

    pub fn instance(&self, name: &str) -> Option<(&InstanceType, &Pack)> {
        self.read()
            .find_map(|p| p.instances.iter().find(|i| i.name == name).map(|i| (i, p)))
    }
    pub fn instance_names(&self) -> Vec<&str> {
        self.read()
            .flat_map(|p| p.instances.iter().map(|i| i.name.as_str()))
            .collect()
    }
    pub fn reserve(&self, name: &str) -> Option<&NodeReserve> {
        self.read()
            .find_map(|p| p.reserves.iter().find(|r| r.name == name))
    }
    /// The product pack of `product` (`flink`, `kafka`, `connector`, `operator`) applying to the selectors.
    pub fn product<'a>(
        &'a self,
        product: &str,
        selectors: &BTreeMap<&str, String>,
    ) -> Option<&'a Pack> {
        let applies = |p: &Pack| {
            p.layer == Layer::Product
                && p.applies.iter().any(|(k, _)| k == product)
                && p.applies_to(selectors)
        };
        self.slots.iter().find_map(|s| match s {
            Slot::Read(p) => applies(p).then_some(p),
            Slot::Deferred(d) => {
                let release_fits = d.product == product
                    && selectors
                        .get(product)
                        .is_some_and(|have| pack::version_matches(d.release, have));
                if release_fits {
                    d.get().filter(|p| applies(p))
                } else {
                    None
                }
            }
        })
    }
    /// Practice and organisation packs that apply, practice first.
    pub fn policy_packs<'a>(&'a self, selectors: &BTreeMap<&str, String>) -> Vec<&'a Pack> {
        let mut v: Vec<&Pack> = self
            .read()
            .filter(|p| p.layer != Layer::Product && p.applies_to(selectors))
            .collect();
        v.sort_by_key(|p| p.layer);
        v
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
