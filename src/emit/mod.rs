//! emit: rendered units → the output directory.
//!
//! Each job or cluster directory is replaced as a unit: its files are written into a staging
//! directory inside the output directory (same file system), then the old directory is renamed
//! aside and the staged one renamed into place; `manifest.json` is renamed in last (the commit
//! point). Any error, or a signal, before the commit point puts back the units already swapped,
//! so the previous output stays as it was, and removes the staging debris. Every write step goes
//! through the [`Io`] seam, so tests fail each one in turn. A flock on `.flinkgen.lock` keeps two
//! builds from interleaving; durability (fsync or not) is in RELIABILITY.md.

mod io;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

pub use io::{Fault, FaultyIo, Io, RealIo};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::diag::Diagnostic;
use crate::render::Unit;

pub fn sha256_hex(bytes: &[u8]) -> String {
    FileHash::of(bytes).to_string()
}

/// A SHA-256 digest, written as lowercase hex. A fleet's manifest has a hundred thousand of
/// them: kept as bytes until they are written, not as strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHash([u8; 32]);

impl FileHash {
    pub fn of(bytes: &[u8]) -> FileHash {
        FileHash(Sha256::digest(bytes).into())
    }

    fn hex(&self) -> [u8; 64] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        out
    }
}

impl std::fmt::Display for FileHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hex = self.hex();
        f.write_str(std::str::from_utf8(&hex).map_err(|_| std::fmt::Error)?)
    }
}

impl Serialize for FileHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex = self.hex();
        match std::str::from_utf8(&hex) {
            Ok(text) => s.serialize_str(text),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: FileHash,
    pub bytes: usize,
}

impl ManifestFile {
    pub fn of(f: &crate::render::File) -> ManifestFile {
        ManifestFile {
            path: f.path.clone(),
            sha256: FileHash::of(f.contents.as_bytes()),
            bytes: f.contents.len(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestInput {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub generator: &'static str,
    pub inputs: Vec<ManifestInput>,
    pub packs: Vec<crate::plan::PackUse>,
    pub findings: std::collections::BTreeMap<String, usize>,
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    pub fn to_json(&self) -> String {
        // A fleet's manifest is tens of megabytes: written into a buffer of about its final
        // size, not one doubled from empty (which held both halves at once when it grew).
        let per_file: usize = self.files.iter().map(|f| f.path.len() + 64 + 80).sum();
        let mut buf = Vec::with_capacity(per_file + 4096 + 256 * self.inputs.len());
        match self.write_json(&mut buf) {
            Ok(()) => String::from_utf8(buf).unwrap_or_else(|_| "{}\n".into()),
            Err(_) => "{}\n".into(),
        }
    }

    /// [`Manifest::to_json`], written to `w` as it is made: a build writes a fleet's manifest
    /// (tens of megabytes) straight into its file, or compares it with the file on disk.
    pub fn write_json(&self, w: &mut dyn Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        w.write_all(b"\n")
    }
}

/// Whether `path` is a regular file (not a link) holding exactly what `write` writes, read in
/// pieces as it is written and stopped at the first difference: a fleet's manifest.json is tens
/// of megabytes, and holding it whole beside the old one was the peak memory of a rebuild.
fn same_file_as(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> bool {
    compare_file(path, None, write)
}

/// [`same_file_as`]; with `len`, a file of another length is told apart by its metadata alone.
fn compare_file(
    path: &Path,
    len: Option<u64>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> bool {
    struct Compare {
        file: std::io::BufReader<fs::File>,
        buf: Vec<u8>,
    }
    impl Write for Compare {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.buf.resize(data.len(), 0);
            self.file.read_exact(&mut self.buf)?;
            if self.buf != data {
                return Err(std::io::Error::other("differs"));
            }
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let Some(size) = fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.is_file() && len.is_none_or(|l| l == m.len()))
        .map(|m| m.len())
    else {
        return false;
    };
    let Ok(file) = fs::File::open(path) else {
        return false;
    };
    let mut cmp = Compare {
        file: std::io::BufReader::with_capacity(size.clamp(1, 64 * 1024) as usize, file),
        buf: vec![],
    };
    if write(&mut cmp).is_err() {
        return false;
    }
    // Nothing may follow.
    matches!(cmp.file.read(&mut [0u8; 1]), Ok(0))
}

pub fn manifest_files(units: &[Unit]) -> Vec<ManifestFile> {
    let mut files: Vec<ManifestFile> = units
        .iter()
        .flat_map(|u| u.files.iter())
        .map(ManifestFile::of)
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn io_err(what: &str, path: &Path, e: &std::io::Error) -> Diagnostic {
    let help = match e.raw_os_error() {
        Some(28) => {
            "the disk is full: free space and build again; the previous output is unchanged"
        }
        Some(30) => {
            "the file system is read-only: build into a writable directory; the previous output is unchanged"
        }
        Some(13) | Some(1) => {
            "permission denied: check that the output directory is writable; the previous output is unchanged"
        }
        _ => "check that the output directory is writable; the previous output is unchanged",
    };
    Diagnostic::error(format!("cannot {what} {}: {e}", path.display())).with_help(help)
}

/// Only plain relative paths of the form `jobs/<name>/…` may be written.
fn safe_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && !seg.contains('\\')
                && !seg.chars().any(char::is_control)
        })
}

/// The lock file's name inside the output directory.
pub const LOCK_FILE: &str = ".flinkgen.lock";
/// Staging directories are `<out>/.flinkgen-staging-<pid>`: inside the output directory, so every
/// rename is within one file system.
pub const STAGING_PREFIX: &str = ".flinkgen-staging-";

/// Why a write failed; `interrupted` when a signal stopped it (exit 130).
#[derive(Debug)]
pub struct EmitError {
    pub diagnostic: Diagnostic,
    pub interrupted: bool,
}

impl From<Diagnostic> for EmitError {
    fn from(diagnostic: Diagnostic) -> Self {
        EmitError {
            diagnostic,
            interrupted: false,
        }
    }
}

/// What a successful write has to say besides "done": cleanup that failed after the new output
/// was complete (the next build removes what is left).
#[derive(Debug, Default)]
pub struct EmitReport {
    pub warnings: Vec<String>,
    /// Units whose directory already held exactly their files: left untouched.
    pub unchanged_units: usize,
    /// Files written, manifest.json included (0 when the output was already up to date).
    pub written_files: usize,
    /// Files of the output, manifest.json not included.
    pub files: usize,
}

/// An exclusive `flock` on `<out>/.flinkgen.lock`, held for the whole write. The kernel drops a
/// flock when its holder exits, however it exits, so a lock file left by a killed build never
/// blocks: only a live process holds the lock. The file holds the holder's pid for the message.
struct Lock<'a> {
    file: fs::File,
    path: PathBuf,
    io: &'a dyn Io,
}

impl Lock<'_> {
    /// Remove the lock file while still holding the lock (so no one else can have it), then
    /// unlock by closing.
    fn release(self) -> Option<String> {
        let r = self.io.remove_file(&self.path);
        drop(self.file);
        r.err().map(|e| {
            format!(
                "could not remove {}: {e} (it does not block later builds)",
                self.path.display()
            )
        })
    }
}

fn lock<'a>(io: &'a dyn Io, out: &Path) -> Result<Lock<'a>, Diagnostic> {
    let path = out.join(LOCK_FILE);
    // Opening a link would create or truncate its target, wherever it is (the real `open_lock`
    // also refuses links itself, should one appear after this look).
    if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Diagnostic::error(format!(
            "{} is a symbolic link; flinkgen does not write through links",
            path.display()
        ))
        .with_help(
            "remove the link; the lock file is flinkgen's own and is removed after every build",
        ));
    }
    // A build that removed the lock file between our open and our flock leaves us locking a file
    // no one else can see: retry with the file that is there now.
    for _ in 0..10 {
        let mut file = io
            .open_lock(&path)
            .map_err(|e| io_err("create the lock file", &path, &e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // The holder writes its pid; a hostile lock file is not read whole.
                let _ = std::io::Read::by_ref(&mut file)
                    .take(64)
                    .read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another flinkgen build".to_string()
                } else {
                    format!("another flinkgen build (pid {holder})")
                };
                return Err(Diagnostic::error(format!(
                    "{who} is writing to {}: it holds the lock {}",
                    out.display(),
                    path.display()
                ))
                .with_help(
                    "wait for it to finish, or build into another directory; the lock is released when that process exits, however it exits",
                ));
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err("lock", &path, &e)),
        }
        if !same_file(&file, &path) {
            continue;
        }
        // The pid is only for the message above; failing to write it changes nothing.
        let _ = file.set_len(0);
        let _ = writeln!(file, "{}", std::process::id());
        return Ok(Lock { file, path, io });
    }
    Err(Diagnostic::error(format!(
        "cannot take the lock {}: other builds keep replacing it",
        path.display()
    ))
    .with_help("wait for the other builds to finish"))
}

#[cfg(unix)]
fn same_file(file: &fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &fs::File, path: &Path) -> bool {
    path.exists()
}

/// The durability and interruption settings of the CLI's writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// fsync every staged file and directory before the swap, and the parents after it.
    pub fsync: bool,
}

/// SIGINT, SIGTERM and SIGHUP set a flag while this guard lives (the write rolls back, exit
/// 130); a second SIGINT exits at once, and the next build cleans up after it.
pub struct Signals {
    flag: Arc<AtomicBool>,
    ids: Vec<signal_hook::SigId>,
}

impl Signals {
    pub fn catch() -> Signals {
        let flag = Arc::new(AtomicBool::new(false));
        let mut ids = vec![];
        #[cfg(unix)]
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            // Conditional shutdown first: a second signal, when the first is already set, exits.
            if let Ok(id) = signal_hook::flag::register_conditional_shutdown(sig, 130, flag.clone())
            {
                ids.push(id);
            }
            if let Ok(id) = signal_hook::flag::register(sig, flag.clone()) {
                ids.push(id);
            }
        }
        Signals { flag, ids }
    }

    /// The real file system, interrupted by these signals.
    pub fn io(&self, opts: WriteOptions) -> RealIo {
        RealIo {
            fsync: opts.fsync,
            interrupt: Some(self.flag.clone()),
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Write every unit and the manifest on the real file system, with [`Signals`] caught.
pub fn write(
    out: &Path,
    units: &[Unit],
    manifest: &Manifest,
    opts: WriteOptions,
) -> Result<EmitReport, EmitError> {
    let signals = Signals::catch();
    write_with(&signals.io(opts), out, units, manifest)
}

/// Write every unit and the manifest through `io`. On any error the previous output is as it
/// was — every unit, and manifest.json — and neither staging nor the lock file is left.
pub fn write_with(
    io: &dyn Io,
    out: &Path,
    units: &[Unit],
    manifest: &Manifest,
) -> Result<EmitReport, EmitError> {
    let writer = Writer::open(io, out)?;
    if io.concurrent() {
        use rayon::prelude::*;
        units
            .par_iter()
            .enumerate()
            .try_for_each(|(i, u)| writer.add(i, u))?;
    } else {
        for (i, u) in units.iter().enumerate() {
            writer.add(i, u)?;
        }
    }
    writer.finish(Manifest {
        generator: manifest.generator,
        inputs: manifest.inputs.clone(),
        packs: manifest.packs.clone(),
        findings: manifest.findings.clone(),
        files: vec![],
    })
}

/// An output directory being written unit by unit, as the units are rendered: each unit that
/// differs from what is on disk is staged at once (and its text dropped by the caller), so a
/// fleet's output is never all in memory; [`Writer::finish`] swaps the staged units in and
/// renames manifest.json last (the commit point). A writer dropped without `finish` — an input
/// error in a later unit, a failed step, a signal — removes its staging and its lock and, if it
/// created the output directory, that directory too: the previous output is as it was.
///
/// `add` may be called from several threads (units stage into disjoint directories); through a
/// test seam that is not `concurrent`, the caller adds units one after another so that the
/// steps are numbered the same way in every run.
pub struct Writer<'a> {
    io: &'a dyn Io,
    out: PathBuf,
    staging: PathBuf,
    lock: Option<Lock<'a>>,
    /// The output directory did not exist: an aborted build removes it again (once empty).
    created_out: bool,
    state: Mutex<Staged>,
}

#[derive(Default)]
struct Staged {
    staging_created: bool,
    /// Units that differ from the disk, staged, by the caller's key (the output order).
    units: Vec<StagedUnit>,
    total_units: usize,
    unchanged_units: usize,
    files: Vec<ManifestFile>,
}

struct StagedUnit {
    key: usize,
    dir: String,
    /// The directories staging created for it (fsync'd with `--fsync`).
    dirs: Vec<PathBuf>,
    files: usize,
}

impl<'a> Writer<'a> {
    /// Create the output directory if needed, take its lock and clean up after killed builds.
    pub fn open(io: &'a dyn Io, out: &Path) -> Result<Writer<'a>, EmitError> {
        if let Ok(m) = fs::metadata(out)
            && !m.is_dir()
        {
            return Err(Diagnostic::error(format!(
                "the output path {} exists and is not a directory",
                out.display()
            ))
            .with_help("pass a directory with -o (it is created if missing)")
            .into());
        }
        let created_out = fs::symlink_metadata(out).is_err();
        io.create_dir_all(out)
            .map_err(|e| io_err("create", out, &e))?;
        let mut writer = Writer {
            io,
            out: out.to_path_buf(),
            staging: out.join(format!("{STAGING_PREFIX}{}", std::process::id())),
            lock: None,
            created_out,
            state: Mutex::new(Staged::default()),
        };
        writer.lock = Some(lock(io, out)?);
        recover_locked(io, out)?;
        Ok(writer)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Staged> {
        // A panic elsewhere cannot leave `Staged` half-updated in a way that matters here.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Record one unit for the manifest and, unless its directory already holds exactly its
    /// files, stage it. `key` orders the swaps (the caller's output order).
    pub fn add(&self, key: usize, u: &Unit) -> Result<(), EmitError> {
        check_paths(u)?;
        let files: Vec<ManifestFile> = u.files.iter().map(ManifestFile::of).collect();
        // With fsync every unit is written, so that all of the output is durable.
        let same = !self.io.fsync() && unit_on_disk(&self.out, u);
        {
            let mut st = self.state();
            st.files.extend(files);
            st.total_units += 1;
            if same {
                st.unchanged_units += 1;
                return Ok(());
            }
            if !st.staging_created {
                check_interrupt(self.io)?;
                self.io
                    .create_dir_all(&self.staging)
                    .map_err(|e| io_err("create", &self.staging, &e))?;
                st.staging_created = true;
            }
        }
        let dirs = stage_unit(self.io, &self.staging, u)?;
        self.state().units.push(StagedUnit {
            key,
            dir: u.dir.clone(),
            dirs,
            files: u.files.len(),
        });
        Ok(())
    }

    /// Swap the staged units in and write manifest.json (its `files` are the units added).
    pub fn finish(mut self, mut manifest: Manifest) -> Result<EmitReport, EmitError> {
        check_interrupt(self.io)?;
        let mut st = std::mem::take(&mut *self.state());
        st.files.sort_by(|a, b| a.path.cmp(&b.path));
        manifest.files = std::mem::take(&mut st.files);
        st.units.sort_by_key(|u| u.key);
        let mut report = EmitReport {
            unchanged_units: st.unchanged_units,
            files: manifest.files.len(),
            ..EmitReport::default()
        };
        let r = write_staged(self.io, &self.out, &self.staging, &st, &manifest);
        if let Ok(true) = r {
            report.written_files = st.units.iter().map(|u| u.files).sum::<usize>() + 1;
        }
        // The staging directory holds the new files on failure and the old units on success:
        // either way it goes. A failure here after success leaves the new output complete.
        if fs::symlink_metadata(&self.staging).is_ok()
            && let Err(e) = self.io.remove_dir_all(&self.staging)
        {
            report.warnings.push(format!(
                "could not remove {}: {e}; the next build removes it",
                self.staging.display()
            ));
        }
        if let Some(w) = self.lock.take().and_then(Lock::release) {
            report.warnings.push(w);
        }
        if r.is_ok() {
            self.created_out = false;
        }
        r.map(|_| report)
    }

    /// How many units were added.
    pub fn units(&self) -> usize {
        self.state().total_units
    }
}

impl Drop for Writer<'_> {
    /// An unfinished (or failed) write: nothing of it stays.
    fn drop(&mut self) {
        if fs::symlink_metadata(&self.staging).is_ok() {
            let _ = self.io.remove_dir_all(&self.staging);
        }
        if let Some(lock) = self.lock.take() {
            let _ = lock.release();
        }
        if self.created_out {
            // Only if empty: remove_dir never removes anything but an empty directory.
            let _ = fs::remove_dir(&self.out);
        }
    }
}

/// Only paths of the form `jobs/<name>/…` inside the unit's own directory may be written.
fn check_paths(u: &Unit) -> Result<(), EmitError> {
    if !safe_relative(&u.dir) || u.dir.split('/').count() != 2 {
        return Err(Diagnostic::error(format!(
            "refusing to write outside the output directory: {:?}",
            u.dir
        ))
        .into());
    }
    for f in &u.files {
        if !safe_relative(&f.path) || !f.path.starts_with(&format!("{}/", u.dir)) {
            return Err(Diagnostic::error(format!(
                "refusing to write outside the output directory: {:?}",
                f.path
            ))
            .into());
        }
    }
    Ok(())
}

/// Clean up after builds that were killed (SIGKILL, power loss): under the lock, every staging
/// directory is stale. A unit that was moved aside but whose new version never arrived is put
/// back; the rest of the staging directory is removed. Units swapped before the kill stay
/// swapped: each unit is complete, old or new.
pub fn recover(io: &dyn Io, out: &Path) -> Result<(), Diagnostic> {
    if fs::metadata(out).is_err() {
        return Ok(());
    }
    let lock = lock(io, out)?;
    let r = recover_locked(io, out);
    let _ = lock.release();
    r
}

fn recover_locked(io: &dyn Io, out: &Path) -> Result<(), Diagnostic> {
    let Ok(entries) = fs::read_dir(out) else {
        return Ok(());
    };
    let mut stale: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(STAGING_PREFIX))
        .map(|e| e.path())
        .collect();
    stale.sort();
    for dir in stale {
        if fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
            io.remove_file(&dir)
                .map_err(|e| io_err("remove", &dir, &e))?;
            continue;
        }
        // Only what a build of ours moved aside is moved back: real directories all the way,
        // into a real `jobs/` or `clusters/`. A link planted anywhere on either side would
        // otherwise move data into, or out of, a directory outside the output.
        let real_dir = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
        let previous = dir.join(".previous");
        for kind in ["jobs", "clusters"] {
            let (from, into) = (previous.join(kind), out.join(kind));
            if !real_dir(&previous) || !real_dir(&from) || !real_dir(&into) {
                continue;
            }
            let Ok(units) = fs::read_dir(&from) else {
                continue;
            };
            let mut units: Vec<PathBuf> = units.filter_map(Result::ok).map(|e| e.path()).collect();
            units.sort();
            for aside in units {
                let Some(name) = aside.file_name() else {
                    continue;
                };
                let target = into.join(name);
                if real_dir(&aside) && fs::symlink_metadata(&target).is_err() {
                    io.rename(&aside, &target)
                        .map_err(|e| io_err("restore", &target, &e))?;
                }
            }
        }
        io.remove_dir_all(&dir)
            .map_err(|e| io_err("remove stale staging", &dir, &e))?;
    }
    Ok(())
}

pub(crate) fn interrupted_err() -> EmitError {
    EmitError {
        diagnostic: Diagnostic::error("interrupted: the build was stopped by a signal")
            .with_help("the previous output is unchanged and no staging is left; build again"),
        interrupted: true,
    }
}

/// Fail a forward step if a signal arrived.
fn check_interrupt(io: &dyn Io) -> Result<(), EmitError> {
    if io.interrupted() {
        Err(interrupted_err())
    } else {
        Ok(())
    }
}

/// Whether a unit is unchanged: a rebuild then touches only what changed — no file is
/// rewritten, renamed or deleted for a unit that stays the same (their modification times too
/// stay), which is most of a rebuild's cost on a real disk.
/// Whether `out/<unit>` is a real directory (no link on the way) holding exactly the unit's
/// files, byte for byte, and nothing else.
fn unit_on_disk(out: &Path, u: &Unit) -> bool {
    let dir = out.join(&u.dir);
    if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) || refuse_symlink(out, &dir).is_err() {
        return false;
    }
    let mut files = 0;
    if !count_plain_files(&dir, true, &mut files) || files != u.files.len() {
        return false;
    }
    // The unit's paths are distinct, so finding each of them among as many files is equality.
    u.files.iter().all(|f| {
        let p = out.join(&f.path);
        same_file_contents(&p, f.contents.as_bytes())
    })
}

/// Whether `path` is a regular file (not a link) holding exactly `want` ([`same_file_as`], after
/// a look at its length: most files that differ differ in size).
fn same_file_contents(path: &Path, want: &[u8]) -> bool {
    compare_file(path, Some(want.len() as u64), |w| w.write_all(want))
}

/// Count the regular files below `dir`; false on a link, a special file or an empty
/// subdirectory (a staged unit has none of them).
fn count_plain_files(dir: &Path, top: bool, n: &mut usize) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    let mut any = false;
    for e in entries {
        let Ok(e) = e else { return false };
        let Ok(t) = e.file_type() else { return false };
        any = true;
        if t.is_dir() {
            if !count_plain_files(&e.path(), false, n) {
                return false;
            }
        } else if t.is_file() {
            *n += 1;
        } else {
            return false;
        }
    }
    // The unit directory itself may be empty (a managed cluster's unit has no files).
    any || top
}

/// Write one unit's files below `staging`; returns the directories it created.
fn stage_unit(io: &dyn Io, staging: &Path, u: &Unit) -> Result<Vec<PathBuf>, EmitError> {
    // The unit's directory first, then its subdirectories: each `mkdir` then succeeds at the
    // first try. Creating `jobs/<name>/k8s` first failed, looked `jobs/<name>` up in vain
    // (blocking on `jobs/` while the other thread created a unit in it) and went up a level.
    // A unit without files (a managed cluster has no broker files) is still a directory to
    // swap in: it replaces whatever an earlier build left there.
    let unit_dir = staging.join(&u.dir);
    check_interrupt(io)?;
    io.create_dir_all(&unit_dir)
        .map_err(|e| io_err("create", &unit_dir, &e))?;
    let mut dirs: Vec<PathBuf> = vec![unit_dir];
    for f in &u.files {
        let p = staging.join(&f.path);
        if let Some(parent) = p.parent()
            // Byte equality: both sides were joined onto `staging` the same way (a `Path`
            // comparison would parse both into components per file).
            && !dirs.iter().any(|d| d.as_os_str() == parent.as_os_str())
        {
            check_interrupt(io)?;
            io.create_dir_all(parent)
                .map_err(|e| io_err("create", parent, &e))?;
            dirs.push(parent.to_path_buf());
        }
        check_interrupt(io)?;
        io.write_file(&p, f.contents.as_bytes())
            .map_err(|e| io_err("write", &p, &e))?;
    }
    Ok(dirs)
}

/// Commit: the manifest is staged, every staged unit checked and swapped in, manifest.json
/// renamed in last. Returns false when nothing differed and nothing was written.
fn write_staged(
    io: &dyn Io,
    out: &Path,
    staging: &Path,
    st: &Staged,
    manifest: &Manifest,
) -> Result<bool, EmitError> {
    let units = &st.units;
    let manifest_path = out.join("manifest.json");
    if units.is_empty() && !io.fsync() && same_file_as(&manifest_path, |w| manifest.write_json(w)) {
        // Nothing changed: nothing is written.
        return Ok(false);
    }
    // Everything is staged before the first swap: a failure until then changes nothing.
    if !st.staging_created {
        check_interrupt(io)?;
        io.create_dir_all(staging)
            .map_err(|e| io_err("create", staging, &e))?;
    }
    let staged_dirs: Vec<&PathBuf> = units.iter().flat_map(|u| &u.dirs).collect();
    let manifest_tmp = staging.join("manifest.json");
    check_interrupt(io)?;
    io.write_file_with(&manifest_tmp, &mut |w| manifest.write_json(w))
        .map_err(|e| io_err("write", &manifest_tmp, &e))?;
    if io.fsync() {
        // The files were synced as written; their directories hold the names.
        let mut dirs: Vec<PathBuf> = staged_dirs
            .iter()
            .flat_map(|d| {
                d.ancestors()
                    .take_while(|a| a.starts_with(staging))
                    .map(Path::to_path_buf)
            })
            .collect();
        dirs.sort();
        dirs.dedup();
        for d in dirs.iter().rev() {
            check_interrupt(io)?;
            io.sync_dir(d).map_err(|e| io_err("fsync", d, &e))?;
        }
    }

    // Check every target before touching any: no links. A parent (`jobs/`, `clusters/`) that
    // does not exist yet moves in whole, with all its units in one rename: a first build of a
    // fleet is then two renames instead of one per unit.
    let mut parents: Vec<PathBuf> = vec![];
    let mut new_parents: Vec<PathBuf> = vec![];
    for u in units {
        let target = out.join(&u.dir);
        if let Some(parent) = target.parent() {
            // Each parent is checked once (a fleet has thousands of units in two parents).
            if !parents.iter().any(|p| p == parent) {
                refuse_symlink(out, parent)?;
                if fs::symlink_metadata(parent).is_err() {
                    new_parents.push(parent.to_path_buf());
                }
                parents.push(parent.to_path_buf());
            }
            if new_parents.iter().any(|p| p == parent) {
                // Nothing exists below a parent that does not exist: no link to find.
                continue;
            }
        }
        if fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Diagnostic::error(format!(
                "{} is a symbolic link; flinkgen does not write through links",
                target.display()
            ))
            .with_help("remove the link; the output directory must hold flinkgen's own directories")
            .into());
        }
    }
    if fs::symlink_metadata(out.join("manifest.json")).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Diagnostic::error(format!(
            "{} is a symbolic link; flinkgen does not write through links",
            out.join("manifest.json").display()
        ))
        .into());
    }
    // Swap each unit in: old → aside, staged → place; then the manifest. If any step fails (or
    // a signal arrives), undo the swaps done, so an error leaves the whole previous output.
    let aside_root = staging.join(".previous");
    let mut swapped: Vec<(PathBuf, Option<PathBuf>)> = vec![];
    let result = swap_all(
        io,
        out,
        staging,
        &aside_root,
        units,
        &new_parents,
        &mut swapped,
    )
    .and_then(|()| {
        check_interrupt(io)?;
        let target = out.join("manifest.json");
        io.rename(&manifest_tmp, &target)
            .map_err(|e| EmitError::from(io_err("replace", &target, &e)))
    });
    if let Err(e) = result {
        for (target, aside) in swapped.into_iter().rev() {
            let failed = staging
                .join(".failed")
                .join(target.strip_prefix(out).unwrap_or(&target));
            if let Some(parent) = failed.parent() {
                let _ = io.create_dir_all(parent);
            }
            let _ = io.rename(&target, &failed);
            if let Some(aside) = aside {
                let _ = io.rename(&aside, &target);
            }
        }
        return Err(e);
    }
    if io.fsync() {
        // The renames are durable once their directories are.
        let mut dirs = parents;
        dirs.push(out.to_path_buf());
        for d in &dirs {
            // After the commit point: the new output is in place, but may not survive a power
            // loss, which is what --fsync asked for: an error.
            io.sync_dir(d).map_err(|e| {
                Diagnostic::error(format!("cannot fsync {}: {e}", d.display())).with_help(
                    "the new output is in place, but may not survive a power loss; build again",
                )
            })?;
        }
    }
    Ok(true)
}

fn swap_all(
    io: &dyn Io,
    out: &Path,
    staging: &Path,
    aside_root: &Path,
    units: &[StagedUnit],
    new_parents: &[PathBuf],
    swapped: &mut Vec<(PathBuf, Option<PathBuf>)>,
) -> Result<(), EmitError> {
    let mut aside_parents: Vec<PathBuf> = vec![];
    let mut moved_parents: Vec<PathBuf> = vec![];
    for u in units {
        let target = out.join(&u.dir);
        if let Some(parent) = target.parent()
            && new_parents.iter().any(|p| p == parent)
        {
            // The staged parent holds exactly the staged units below it: it moves in whole.
            if !moved_parents.iter().any(|p| p == parent) {
                let staged = staging.join(parent.strip_prefix(out).unwrap_or(parent));
                check_interrupt(io)?;
                io.rename(&staged, parent)
                    .map_err(|e| io_err("create", parent, &e))?;
                swapped.push((parent.to_path_buf(), None));
                moved_parents.push(parent.to_path_buf());
            }
            continue;
        }
        let staged = staging.join(&u.dir);
        let aside = aside_root.join(&u.dir);
        let had_old = fs::symlink_metadata(&target).is_ok();
        check_interrupt(io)?;
        if had_old {
            if let Some(parent) = aside.parent()
                && !aside_parents.iter().any(|p| p == parent)
            {
                io.create_dir_all(parent)
                    .map_err(|e| io_err("create", parent, &e))?;
                aside_parents.push(parent.to_path_buf());
                check_interrupt(io)?;
            }
            io.rename(&target, &aside)
                .map_err(|e| io_err("move aside", &target, &e))?;
        }
        if let Err(e) = io.rename(&staged, &target) {
            if had_old {
                let _ = io.rename(&aside, &target);
            }
            return Err(io_err("replace", &target, &e).into());
        }
        swapped.push((target, had_old.then_some(aside)));
    }
    Ok(())
}

fn refuse_symlink(out: &Path, dir: &Path) -> Result<(), Diagnostic> {
    let mut p = PathBuf::from(dir);
    while p.starts_with(out) && p != out {
        if fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(Diagnostic::error(format!(
                "{} is a symbolic link; flinkgen does not write through links",
                p.display()
            )));
        }
        if !p.pop() {
            break;
        }
    }
    Ok(())
}

/// `--check`: compare with what is on disk, write nothing. Returns a unified diff, empty when
/// the output is current.
pub fn diff(out: &Path, units: &[Unit], manifest: &Manifest) -> String {
    let d = Diff::new(out);
    for (i, u) in units.iter().enumerate() {
        d.add(i, u);
    }
    d.finish(&manifest.to_json())
}

/// `--check` unit by unit, as the units are rendered: only the differences are kept. The report
/// is the same whatever order units arrive in: file diffs sorted by path (manifest.json among
/// them), then the files a rebuild would remove, unit by unit in key order.
pub struct Diff {
    out: PathBuf,
    state: Mutex<DiffState>,
}

#[derive(Default)]
struct DiffState {
    /// (path, unified diff) of each file that differs.
    changed: Vec<(String, String)>,
    /// (unit key, report lines) of files on disk that the unit no longer has.
    removed: Vec<(usize, String)>,
    files: Vec<ManifestFile>,
}

impl Diff {
    pub fn new(out: &Path) -> Diff {
        Diff {
            out: out.to_path_buf(),
            state: Mutex::new(DiffState::default()),
        }
    }

    pub fn add(&self, key: usize, u: &Unit) {
        let mut changed = vec![];
        for f in &u.files {
            if let Some(d) = file_diff(&self.out, &f.path, &f.contents) {
                changed.push((f.path.clone(), d));
            }
        }
        let expected: std::collections::HashSet<&str> =
            u.files.iter().map(|f| f.path.as_str()).collect();
        let mut on_disk = vec![];
        collect(&self.out.join(&u.dir), &mut on_disk);
        let mut removed = String::new();
        for p in on_disk {
            let rel = p
                .strip_prefix(&self.out)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            if !expected.contains(rel.as_str()) {
                removed.push_str(&format!(
                    "--- a/{rel}\n+++ /dev/null\n(file would be removed)\n"
                ));
            }
        }
        let files = u.files.iter().map(ManifestFile::of);
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.changed.extend(changed);
        if !removed.is_empty() {
            st.removed.push((key, removed));
        }
        st.files.extend(files);
    }

    /// The manifest's files (sorted by path), for the manifest the diff compares last.
    pub fn manifest_files(&self) -> Vec<ManifestFile> {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut files = std::mem::take(&mut st.files);
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
    }

    pub fn finish(self, manifest_json: &str) -> String {
        let mut st = self
            .state
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(d) = file_diff(&self.out, "manifest.json", manifest_json) {
            st.changed.push(("manifest.json".into(), d));
        }
        st.changed.sort();
        st.removed.sort();
        let mut report = String::new();
        for (_, d) in st.changed {
            report.push_str(&d);
        }
        for (_, r) in st.removed {
            report.push_str(&r);
        }
        report
    }
}

/// The unified diff of `out/path` (missing: empty) against `want`, or None when they are equal.
fn file_diff(out: &Path, path: &str, want: &str) -> Option<String> {
    // What is there is read like any input: a regular file, within the bound (a FIFO planted
    // in the output would wait forever; anything else counts as missing).
    let have = crate::profile::read_bounded(&out.join(path)).unwrap_or_default();
    (have != want).then(|| {
        similar::TextDiff::from_lines(have.as_str(), want)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string()
    })
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streamed comparison with the file on disk: equal only for the same bytes, neither
    /// more nor fewer; never through a link.
    #[test]
    fn same_file_as_compares_what_is_written_with_the_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("manifest.json");
        let text: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
        // Written in pieces, as serde_json writes.
        let pieces = |t: String| {
            move |w: &mut dyn Write| {
                for chunk in t.as_bytes().chunks(7) {
                    w.write_all(chunk)?;
                }
                Ok(())
            }
        };
        assert!(same_file_as(&path, pieces(text.clone())));
        let mut changed = text.clone();
        changed.replace_range(70_000..70_001, "X");
        assert!(!same_file_as(&path, pieces(changed)));
        assert!(!same_file_as(
            &path,
            pieces(text[..text.len() - 1].to_string())
        ));
        assert!(!same_file_as(&path, pieces(format!("{text}more"))));
        assert!(!same_file_as(
            &dir.path().join("missing.json"),
            pieces(text.clone())
        ));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.json");
            std::os::unix::fs::symlink(&path, &link).unwrap_or_else(|e| panic!("{e}"));
            assert!(!same_file_as(&link, pieces(text)));
        }
    }
}
