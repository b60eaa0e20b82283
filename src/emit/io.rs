//! The file-system seam of `emit`: every step that changes the output directory goes through
//! [`Io`], so tests can fail any one of them ([`FaultyIo`]) and prove that the previous output
//! survives. The real implementation is [`RealIo`].

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The write steps of a build. Reads (metadata, directory listings) are not steps: they change
/// nothing, so failing them proves nothing about what a failure leaves behind.
pub trait Io: Sync {
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Create (or truncate) `path` and write `bytes` to it; with fsync, flush it to the device.
    fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// [`Io::write_file`] of what `fill` writes, as one step. The real file system streams it
    /// into the file (manifest.json of a fleet is tens of megabytes); by default it is
    /// collected first.
    fn write_file_with(
        &self,
        path: &Path,
        fill: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut bytes = vec![];
        fill(&mut bytes)?;
        self.write_file(path, &bytes)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Flush a directory's entries (the renames into it) to the device. Only called with fsync.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Open (creating if needed) the lock file, without truncating it: another build may hold it.
    fn open_lock(&self, path: &Path) -> io::Result<fs::File>;
    /// Whether fsync was asked for (`--fsync`, `FLINKGEN_FSYNC=1`).
    fn fsync(&self) -> bool {
        false
    }
    /// Whether a signal asked the build to stop. Checked before every forward step; once set,
    /// the build rolls back instead of going on.
    fn interrupted(&self) -> bool {
        false
    }
    /// Whether independent steps (the files of different units) may run at once. A test seam
    /// says no, so that it numbers the steps the same way in every run.
    fn concurrent(&self) -> bool {
        false
    }
}

/// The real file system.
#[derive(Debug, Default, Clone)]
pub struct RealIo {
    pub fsync: bool,
    /// Set by the signal handler of the CLI (SIGINT, SIGTERM, SIGHUP).
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl Io for RealIo {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }
    fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut f = fs::File::create(path)?;
        f.write_all(bytes)?;
        if self.fsync {
            f.sync_all()?;
        }
        Ok(())
    }
    fn write_file_with(
        &self,
        path: &Path,
        fill: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut w = io::BufWriter::with_capacity(64 * 1024, fs::File::create(path)?);
        fill(&mut w)?;
        let f = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        if self.fsync {
            f.sync_all()?;
        }
        Ok(())
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir_all(path)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        fs::File::open(path)?.sync_all()
    }
    fn open_lock(&self, path: &Path) -> io::Result<fs::File> {
        let mut options = fs::OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        // Never through a link: it would create or truncate a file outside the output.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        options.open(path)
    }
    fn fsync(&self) -> bool {
        self.fsync
    }
    fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
    }
    fn concurrent(&self) -> bool {
        true
    }
}

/// What the N-th step of a [`FaultyIo`] does instead of its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fail with this raw OS error (`libc` numbers: EIO 5, EACCES 13, ENOSPC 28, EROFS 30, EXDEV 18).
    Os(i32),
    /// As if a signal arrived while this step runs: the step completes, and `interrupted()`
    /// is true from then on, so the next forward step rolls back instead.
    Interrupt,
    /// As if the process were killed (SIGKILL, power loss of flinkgen alone): this step and
    /// every later one fail, rollback included, so whatever was done stays on disk.
    Crash,
}

/// A test seam: the real file system, except that step number `fail_at` (0-based, counting
/// every [`Io`] call but `fsync`/`interrupted`) gets `fault`. With `fail_at: None` it only
/// counts, which is how a test learns how many steps a clean build has.
#[derive(Debug)]
pub struct FaultyIo {
    pub real: RealIo,
    pub fail_at: Option<usize>,
    pub fault: Fault,
    steps: AtomicUsize,
    interrupted: AtomicBool,
    crashed: AtomicBool,
    /// Every step taken, as `op path`, for failure messages and step counts.
    pub log: Mutex<Vec<String>>,
}

impl FaultyIo {
    pub fn new(fail_at: Option<usize>, fault: Fault) -> Self {
        FaultyIo {
            real: RealIo::default(),
            fail_at,
            fault,
            steps: AtomicUsize::new(0),
            interrupted: AtomicBool::new(false),
            crashed: AtomicBool::new(false),
            log: Mutex::new(vec![]),
        }
    }
    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps.load(Ordering::SeqCst)
    }
    fn step(&self, op: &str, path: &Path) -> io::Result<()> {
        let n = self.steps.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut log) = self.log.lock() {
            log.push(format!("{op} {}", path.display()));
        }
        if self.crashed.load(Ordering::SeqCst) {
            return Err(io::Error::other("process is gone (simulated crash)"));
        }
        if self.fail_at == Some(n) {
            match self.fault {
                Fault::Os(code) => return Err(io::Error::from_raw_os_error(code)),
                Fault::Interrupt => self.interrupted.store(true, Ordering::SeqCst),
                Fault::Crash => {
                    self.crashed.store(true, Ordering::SeqCst);
                    return Err(io::Error::other("process is gone (simulated crash)"));
                }
            }
        }
        Ok(())
    }
}

impl Io for FaultyIo {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.step("mkdir", path)?;
        self.real.create_dir_all(path)
    }
    fn write_file(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.step("write", path)?;
        self.real.write_file(path, bytes)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step("rename", from)?;
        self.real.rename(from, to)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.step("rmdir", path)?;
        self.real.remove_dir_all(path)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.step("rm", path)?;
        self.real.remove_file(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.step("fsync-dir", path)?;
        self.real.sync_dir(path)
    }
    fn open_lock(&self, path: &Path) -> io::Result<fs::File> {
        self.step("lock", path)?;
        self.real.open_lock(path)
    }
    fn fsync(&self) -> bool {
        self.real.fsync
    }
    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}
