//! The plumbing of the tests that cross-check flinkgen against long-lived Java harnesses
//! (tests/flink_memory.rs, tests/flink_config.rs, tests/kafka_clients.rs): where the jars are
//! cached, the skip-or-fail rule for missing prerequisites, compiling a harness with `javac`,
//! and the harness JVM with its one-line request/response protocol.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

/// `${FLINKGEN_CACHE:-~/.cache/flinkgen}`: where the scripts/*-jars.sh put the jars.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("FLINKGEN_CACHE") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache").join("flinkgen")
        }
    }
}

fn tool_works(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `Ok` when `java` and `javac` both run, otherwise why not.
pub fn jdk() -> Result<(), String> {
    if tool_works("java") && tool_works("javac") {
        Ok(())
    } else {
        Err("`java` and `javac` (JDK 17) are not both on PATH".to_string())
    }
}

/// The prerequisite `found`, or `None` to skip the check `what` (e.g. "Flink 1.20.3 memory
/// cross-check"). A missing one is reported as `<why><how_to_get> (FLINKGEN_CACHE=…)`, where
/// `how_to_get` names the script that fetches the jars; under `CI=true` it fails the test
/// instead of skipping it.
pub fn require<T>(what: &str, found: Result<T, String>, how_to_get: &str) -> Option<T> {
    match found {
        Ok(found) => Some(found),
        Err(why) => {
            let msg = format!(
                "{why}{how_to_get} (FLINKGEN_CACHE={})",
                cache_dir().display()
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{what} cannot run: {msg}");
            }
            eprintln!("SKIPPED {what}: {msg}");
            None
        }
    }
}

/// The jars of one Flink version in the cache (bin/*.jar, lib/*.jar), sorted, or why they are
/// not usable: one of them must start with each of `needed`.
pub fn flink_jars(full: &str, needed: &[&str]) -> Result<Vec<PathBuf>, String> {
    let dir = cache_dir().join(format!("flink-{full}"));
    let mut jars = vec![];
    for sub in ["bin", "lib"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            jars.extend(
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "jar")),
            );
        }
    }
    jars.sort();
    let has = |prefix: &str| {
        jars.iter().any(|j| {
            j.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
    };
    if needed.iter().all(|prefix| has(prefix)) {
        Ok(jars)
    } else {
        Err(format!(
            "the Flink {full} jars are missing from {}",
            dir.display()
        ))
    }
}

/// The jars of Flink `full` (see [`flink_jars`]), or `None` to skip the check `what` ("config
/// cross-check") as [`require`] does; the JDK is needed too.
pub fn require_flink(full: &str, what: &str, needed: &[&str]) -> Option<Vec<PathBuf>> {
    let found = jdk()
        .map_err(|why| format!("{why}: install a JDK"))
        .and_then(|()| flink_jars(full, needed));
    require(
        &format!("Flink {full} {what}"),
        found,
        "; the Flink jars come from `bash scripts/flink-jars.sh`",
    )
}

pub fn classpath(parts: &[PathBuf]) -> String {
    std::env::join_paths(parts)
        .unwrap_or_else(|e| panic!("classpath: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// `target/<name>`: where a harness writes its classes and files.
pub fn target_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join(name)
}

/// Compile `src` (relative to the crate root) against `classpath` into `out_dir`, creating it.
/// `jars` names the jars in the failure message ("the kafka-clients jars").
pub fn compile_harness(src: &str, classpath: &[PathBuf], out_dir: &Path, jars: &str) {
    std::fs::create_dir_all(out_dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", out_dir.display()));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
    let out = Command::new("javac")
        .arg("-cp")
        .arg(self::classpath(classpath))
        .arg("-d")
        .arg(out_dir)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run javac: {e}"));
    assert!(
        out.status.success(),
        "javac {} failed against {jars}:\n{}{}",
        source.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Log WARN and above to stderr, so stdout carries only the protocol.
const LOG4J_QUIET: &str = "\
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = err
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %-5p %c{1} - %m%n
";

/// Write the quiet log4j2 config to `path`; the JVM flag that selects it.
pub fn quiet_log4j(path: &Path) -> String {
    std::fs::write(path, LOG4J_QUIET)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    format!("-Dlog4j.configurationFile={}", path.display())
}

/// Compile the harness `src` against the jars of Flink `full` into target/`dir`/`full` and
/// write the quiet log4j config next to it: the classpath to run it with (the classes, then the
/// jars) and the JVM flag that selects the log4j config.
pub fn compile_flink_harness(
    src: &str,
    dir: &str,
    full: &str,
    jars: &[PathBuf],
) -> (Vec<PathBuf>, String) {
    let root = target_dir(dir);
    let classes = root.join(full);
    compile_harness(src, jars, &classes, &format!("the Flink {full} jars"));
    let log4j = quiet_log4j(&root.join(format!("log4j2-quiet-{full}.properties")));
    let mut cp = vec![classes];
    cp.extend(jars.iter().cloned());
    (cp, log4j)
}

/// `java <small-heap flags> <jvm_args> -cp <classpath> <main_class>`; add program arguments and
/// environment variables, then [`Harness::spawn`] it.
pub fn java(classpath: &[PathBuf], main_class: &str, jvm_args: &[String]) -> Command {
    let mut cmd = Command::new("java");
    cmd.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
        .args(jvm_args)
        .arg("-cp")
        .arg(self::classpath(classpath))
        .arg(main_class);
    cmd
}

/// A harness JVM answering one line per request line. Killed when dropped.
pub struct Harness {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The tail of its stderr, for failure messages.
    stderr: Arc<Mutex<String>>,
    /// How failure messages name it ("the Kafka client harness").
    name: String,
}

impl Harness {
    /// Start `java … -cp <classpath> <main_class>` (see [`java`]).
    pub fn start(
        name: &str,
        classpath: &[PathBuf],
        main_class: &str,
        jvm_args: &[String],
    ) -> Harness {
        Harness::spawn(name, java(classpath, main_class, jvm_args))
    }

    /// Start `cmd` with piped stdio, keeping the tail of its stderr.
    pub fn spawn(name: &str, mut cmd: Command) -> Harness {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start java: {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
                // Keep the tail only.
                if s.len() > 64 * 1024 {
                    let mut cut = s.len() - 32 * 1024;
                    while !s.is_char_boundary(cut) {
                        cut += 1;
                    }
                    s.drain(..cut);
                }
            }
        });
        Harness {
            child,
            stdin,
            stdout,
            stderr,
            name: name.to_string(),
        }
    }

    /// Fail the test: the harness did `what`; with its exit status and the tail of its stderr.
    pub fn died(&mut self, what: &str) -> ! {
        let status = self.child.try_wait().ok().flatten();
        let err = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        panic!(
            "{} {what} (exit status {status:?}); its stderr ends with:\n{err}",
            self.name
        );
    }

    /// Send one request line; the answer line, without its line end.
    pub fn request(&mut self, line: &str) -> String {
        if self
            .stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.stdin.flush())
            .is_err()
        {
            self.died("stopped reading requests");
        }
        let mut answer = String::new();
        match self.stdout.read_line(&mut answer) {
            Ok(0) | Err(_) => self.died("closed its stdout"),
            Ok(_) => {}
        }
        answer.trim_end_matches(['\r', '\n']).to_string()
    }

    /// Send one request: `Ok(rest)` for `OK\t<rest>`, `Err(rest)` for `ERR\t<rest>`. Any other
    /// answer, or an error of the harness itself (`ERR\tharness: …`), fails the test.
    pub fn answer(&mut self, line: &str) -> Result<String, String> {
        let answer = self.request(line);
        match answer.split_once('\t') {
            Some(("OK", rest)) => Ok(rest.to_string()),
            Some(("ERR", rest)) if !rest.starts_with("harness:") => Err(rest.to_string()),
            _ => self.died(&format!("answered `{answer}`")),
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Undo the harnesses' escaping of tab, newline, carriage return and backslash in fields.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
