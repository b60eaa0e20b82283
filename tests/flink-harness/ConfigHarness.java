// A long-lived driver around Flink's own configuration loading, for tests/flink_config.rs: it
// loads a configuration directory with GlobalConfiguration.loadConfiguration(dir) (the call
// every Flink process makes on start-up), and reports what Flink made of it.
//
// Protocol (UTF-8, one request and one response per line):
//   request:  "LOAD <configDir>"  or  "INFO"
//   response: "OK\t<field>\t<field>…" or "ERR\t<class>: <message> / <cause class>: <cause message> / …"
// A field is "<name>=<value>"; values escape backslash, tab, CR and LF as \\ \t \r \n.
//
// LOAD answers, for every key of Configuration.toMap() in key order, the four fields
//   key=<key>
//   raw=<the value in toMap()>
//   class=<known Class.FIELD | deprecated <why> | fallback <why> | unverified <why> | unknown>
//   typed=<Type>:<value read through the key's ConfigOption with config.get(option)> or ERR <message>
// (Duration → milliseconds, MemorySize → bytes, enums → name; Type is the option's class, or
// Enum(<simple name>)), then
//   backend=<class of StateBackendLoader.loadStateBackendFromConfig(config, loader, null)>
//           (or "null" when the config names none, or ERR …)
//   backend.incremental=<EmbeddedRocksDBStateBackend.isIncrementalCheckpointsEnabled()>  (RocksDB only)
//   storage=<class of CheckpointStorageLoader.load(null, …, backend, config, …)> (or ERR …)
//   storage.checkpoint-path=<getCheckpointPath()>, storage.savepoint-path=<getSavepointPath()>
// INFO answers catalogue statistics: options=, keys=, classes=, failed-classes=, rocksdb-options=.
// CATALOG answers every key of the catalogue (option keys and fallback keys) as the fields
//   key=<key>  class=<classification as above>  default=<the option's default as config text, or empty>
//
// The catalogue of keys comes from the public static ConfigOption fields of every class in
// flink-dist whose simple name ends in "Options" (org.apache.flink.*, not shaded). A key is
//   known       when it is the key of an option whose field and class are not @Deprecated;
//   deprecated  when it is only the key of @Deprecated options, or a deprecated key of an option;
//   fallback    when it is only a (non-deprecated) fallback key of another option;
//   unverified  when it is none of these but belongs to a component outside flink-dist (the
//               filesystem plugins s3./gs./fs.azure. …), so this harness cannot judge it;
//   unknown     otherwise.
// stdout carries nothing else: System.out points at stderr outside the protocol writes.

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.FallbackKey;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.state.CheckpointStorage;
import org.apache.flink.runtime.state.CheckpointStorageLoader;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.StateBackendLoader;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;

public final class ConfigHarness {
    private ConfigHarness() {}

    /** An option field: where it is declared, and whether it is deprecated. */
    private static final class Decl {
        final String where;
        final ConfigOption<?> option;
        final boolean deprecated;

        Decl(String where, ConfigOption<?> option, boolean deprecated) {
            this.where = where;
            this.option = option;
            this.deprecated = deprecated;
        }
    }

    /** A fallback key: the option it belongs to, and whether it is a deprecated key. */
    private static final class Fallback {
        final Decl of;
        final boolean deprecated;

        Fallback(Decl of, boolean deprecated) {
            this.of = of;
            this.deprecated = deprecated;
        }
    }

    /** Key prefixes of options that live outside flink-dist (filesystem plugins). */
    private static final String[] OUTSIDE_DIST = {
        "s3.", "s3a.", "s3p.", "presto.s3.", "fs.s3a.", "gs.", "fs.gs.", "fs.azure.", "oss.", "fs.oss.",
    };

    private static final Map<String, List<Decl>> MAIN = new TreeMap<>();
    private static final Map<String, List<Fallback>> FALLBACK = new TreeMap<>();
    private static int options;
    private static int classes;
    private static final List<String> FAILED = new ArrayList<>();
    private static int rocksdbOptions;

    public static void main(String[] args) throws Exception {
        PrintStream protocol =
                new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        System.setOut(System.err);
        catalogue();
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            String answer;
            try {
                answer = answer(line);
            } catch (Throwable t) {
                answer = "ERR\tharness: " + chain(t);
            }
            protocol.print(answer);
            protocol.print('\n');
            protocol.flush();
        }
    }

    // -----------------------------------------------------------------------------------------
    // The option catalogue
    // -----------------------------------------------------------------------------------------

    private static void catalogue() throws Exception {
        String jar = GlobalConfiguration.class.getProtectionDomain().getCodeSource().getLocation().getPath();
        ClassLoader loader = ConfigHarness.class.getClassLoader();
        List<String> names = new ArrayList<>();
        try (JarFile jf = new JarFile(jar)) {
            Enumeration<JarEntry> entries = jf.entries();
            while (entries.hasMoreElements()) {
                String n = entries.nextElement().getName();
                if (n.startsWith("org/apache/flink/")
                        && !n.startsWith("org/apache/flink/shaded/")
                        && n.endsWith("Options.class")
                        && !n.contains("$")) {
                    names.add(n.substring(0, n.length() - ".class".length()).replace('/', '.'));
                }
            }
        }
        names.sort(null);
        for (String name : names) {
            Class<?> c;
            try {
                c = Class.forName(name, true, loader);
            } catch (Throwable t) {
                FAILED.add(name + " (" + t.getClass().getSimpleName() + ")");
                continue;
            }
            classes++;
            boolean classDeprecated = c.isAnnotationPresent(Deprecated.class);
            for (Field f : c.getDeclaredFields()) {
                int m = f.getModifiers();
                if (!Modifier.isStatic(m)
                        || !Modifier.isPublic(m)
                        || !ConfigOption.class.isAssignableFrom(f.getType())) {
                    continue;
                }
                ConfigOption<?> option;
                try {
                    option = (ConfigOption<?>) f.get(null);
                } catch (Throwable t) {
                    continue;
                }
                if (option == null) {
                    continue;
                }
                options++;
                if (c.getName().contains(".rocksdb.") || c.getSimpleName().startsWith("RocksDB")) {
                    rocksdbOptions++;
                }
                boolean deprecated = classDeprecated || f.isAnnotationPresent(Deprecated.class);
                Decl d = new Decl(c.getSimpleName() + "." + f.getName(), option, deprecated);
                MAIN.computeIfAbsent(option.key(), k -> new ArrayList<>()).add(d);
                for (FallbackKey fk : option.fallbackKeys()) {
                    FALLBACK.computeIfAbsent(fk.getKey(), k -> new ArrayList<>())
                            .add(new Fallback(d, fk.isDeprecated()));
                }
            }
        }
    }

    /** The classification of a key, and the option to read it through (or null). */
    private static Object[] classify(String key) {
        List<Decl> main = MAIN.getOrDefault(key, List.of());
        for (Decl d : main) {
            if (!d.deprecated) {
                return new Object[] {"known " + d.where, d.option};
            }
        }
        List<Fallback> fbs = FALLBACK.getOrDefault(key, List.of());
        if (!main.isEmpty()) {
            Decl d = main.get(0);
            String replacement = "";
            for (Fallback fb : fbs) {
                if (!fb.of.deprecated) {
                    replacement = "; also a deprecated key of `" + fb.of.option.key() + "` (" + fb.of.where + ")";
                    break;
                }
            }
            return new Object[] {"deprecated option " + d.where + " is @Deprecated" + replacement, d.option};
        }
        for (Fallback fb : fbs) {
            if (fb.deprecated) {
                return new Object[] {
                    "deprecated key of `" + fb.of.option.key() + "` (" + fb.of.where + ")", fb.of.option
                };
            }
        }
        if (!fbs.isEmpty()) {
            Fallback fb = fbs.get(0);
            return new Object[] {
                "fallback key of `" + fb.of.option.key() + "` (" + fb.of.where + ")", fb.of.option
            };
        }
        for (String p : OUTSIDE_DIST) {
            if (key.startsWith(p)) {
                return new Object[] {"unverified `" + p + "*` options live in a filesystem plugin, not in flink-dist", null};
            }
        }
        if (key.startsWith("state.backend.rocksdb.") && rocksdbOptions == 0) {
            return new Object[] {"unverified the RocksDB options are not in flink-dist", null};
        }
        return new Object[] {"unknown", null};
    }

    // -----------------------------------------------------------------------------------------
    // Requests
    // -----------------------------------------------------------------------------------------

    private static String answer(String request) {
        int space = request.indexOf(' ');
        String kind = space < 0 ? request : request.substring(0, space);
        String dir = space < 0 ? "" : request.substring(space + 1);
        List<String> fields = new ArrayList<>();
        switch (kind) {
            case "INFO":
                fields.add("options=" + options);
                fields.add("keys=" + MAIN.size());
                fields.add("classes=" + classes);
                fields.add("failed-classes=" + esc(String.join(", ", FAILED)));
                fields.add("rocksdb-options=" + rocksdbOptions);
                return "OK\t" + String.join("\t", fields);
            case "CATALOG":
                TreeSet<String> all = new TreeSet<>(MAIN.keySet());
                all.addAll(FALLBACK.keySet());
                for (String key : all) {
                    Object[] c = classify(key);
                    ConfigOption<?> o = (ConfigOption<?>) c[1];
                    fields.add("key=" + esc(key));
                    fields.add("class=" + esc((String) c[0]));
                    fields.add("default=" + esc(o == null || !o.hasDefaultValue() ? "" : defaultText(o.defaultValue())));
                }
                return "OK\t" + String.join("\t", fields);
            case "LOAD":
                break;
            default:
                return "ERR\tharness: unknown request `" + oneLine(request) + "` (want LOAD <configDir>, INFO or CATALOG)";
        }
        if (dir.isEmpty()) {
            return "ERR\tharness: LOAD without a config directory";
        }
        Configuration config;
        Map<String, String> flat;
        try {
            config = GlobalConfiguration.loadConfiguration(dir);
            flat = new TreeMap<>(config.toMap());
        } catch (Throwable t) {
            return "ERR\t" + chain(t);
        }
        for (Map.Entry<String, String> e : flat.entrySet()) {
            String key = e.getKey();
            Object[] c = classify(key);
            fields.add("key=" + esc(key));
            fields.add("raw=" + esc(e.getValue()));
            fields.add("class=" + esc((String) c[0]));
            fields.add("typed=" + esc(typed(config, (ConfigOption<?>) c[1])));
        }
        ClassLoader loader = ConfigHarness.class.getClassLoader();
        StateBackend backend = null;
        try {
            backend = StateBackendLoader.loadStateBackendFromConfig(config, loader, null);
            fields.add("backend=" + (backend == null ? "null" : backend.getClass().getName()));
            if (backend != null) {
                Object inc = call(backend, "isIncrementalCheckpointsEnabled");
                if (inc != null) {
                    fields.add("backend.incremental=" + inc);
                }
            }
        } catch (Throwable t) {
            fields.add("backend=" + esc("ERR " + chain(t)));
        }
        try {
            CheckpointStorage storage = loadStorage(config, backend, loader);
            fields.add("storage=" + (storage == null ? "null" : storage.getClass().getName()));
            if (storage != null) {
                Object cp = call(storage, "getCheckpointPath");
                Object sp = call(storage, "getSavepointPath");
                fields.add("storage.checkpoint-path=" + esc(cp == null ? "null" : cp.toString()));
                fields.add("storage.savepoint-path=" + esc(sp == null ? "null" : sp.toString()));
            }
        } catch (Throwable t) {
            fields.add("storage=" + esc("ERR " + chain(t)));
        }
        return "OK\t" + String.join("\t", fields);
    }

    /** A default value as Flink's config text (`30 s`, `64 mb`, `NAME`, `a;b`). */
    private static String defaultText(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof Duration) {
            return ((Duration) v).toMillis() + " ms";
        }
        if (v instanceof MemorySize) {
            return ((MemorySize) v).getBytes() + " b";
        }
        if (v instanceof Enum) {
            return ((Enum<?>) v).name();
        }
        if (v instanceof List) {
            List<String> parts = new ArrayList<>();
            for (Object o : (List<?>) v) {
                parts.add(String.valueOf(o));
            }
            return String.join(";", parts);
        }
        return String.valueOf(v);
    }

    /** The value as the option reads it, with its type: `Duration:30000`, `Enum(X):NAME` … */
    private static String typed(Configuration config, ConfigOption<?> option) {
        if (option == null) {
            return "none";
        }
        String type = "?";
        try {
            Method getClazz = ConfigOption.class.getDeclaredMethod("getClazz");
            getClazz.setAccessible(true);
            Class<?> clazz = (Class<?>) getClazz.invoke(option);
            type = clazz.isEnum() ? "Enum(" + clazz.getSimpleName() + ")" : clazz.getSimpleName();
            Method isList = ConfigOption.class.getDeclaredMethod("isList");
            isList.setAccessible(true);
            if ((Boolean) isList.invoke(option)) {
                type = "List<" + type + ">";
            }
        } catch (Throwable ignored) {
            // type stays unknown; the value still says what it is
        }
        Object v;
        try {
            v = config.get(option);
        } catch (Throwable t) {
            return "ERR " + chain(t);
        }
        if (v == null) {
            return type + ":null";
        }
        if (v instanceof Duration) {
            Duration d = (Duration) v;
            long ms = d.toMillis();
            return Duration.ofMillis(ms).equals(d) ? type + ":" + ms : type + ":" + ms + "ms+" + (d.toNanos() % 1_000_000) + "ns";
        }
        if (v instanceof MemorySize) {
            return type + ":" + ((MemorySize) v).getBytes();
        }
        if (v instanceof Enum) {
            return type + ":" + ((Enum<?>) v).name();
        }
        if (v instanceof List) {
            List<String> parts = new ArrayList<>();
            for (Object o : (List<?>) v) {
                parts.add(String.valueOf(o));
            }
            return type + ":" + String.join(";", parts);
        }
        return type + ":" + v;
    }

    /**
     * CheckpointStorageLoader.load as the JobMaster calls it, with no storage from the
     * application. Its parameters differ between versions (1.18: fromApplication, default
     * savepoint dir, backend, config, loader, logger; 1.20+: fromApplication, backend, job
     * config, cluster config, loader, logger), so it is called by reflection.
     */
    private static CheckpointStorage loadStorage(Configuration config, StateBackend backend, ClassLoader loader)
            throws Exception {
        StateBackend b = backend != null ? backend : new HashMapStateBackend();
        for (Method m : CheckpointStorageLoader.class.getMethods()) {
            if (!m.getName().equals("load") || !Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            Class<?>[] ps = m.getParameterTypes();
            Object[] args = new Object[ps.length];
            for (int i = 0; i < ps.length; i++) {
                Class<?> p = ps[i];
                if (p == StateBackend.class) {
                    args[i] = b;
                } else if (p == Configuration.class) {
                    args[i] = config;
                } else if (p == ClassLoader.class) {
                    args[i] = loader;
                } else {
                    args[i] = null; // application storage, default savepoint dir, logger
                }
            }
            try {
                return (CheckpointStorage) m.invoke(null, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
            }
        }
        throw new IllegalStateException("CheckpointStorageLoader has no static load method");
    }

    /** A public no-argument method's result, or null when there is none. */
    private static Object call(Object target, String method) {
        try {
            return target.getClass().getMethod(method).invoke(target);
        } catch (Throwable t) {
            return null;
        }
    }

    /** "class: message / cause class: cause message / …", on one line. */
    private static String chain(Throwable t) {
        StringBuilder sb = new StringBuilder();
        int depth = 0;
        for (Throwable c = t; c != null && depth < 16; c = c.getCause(), depth++) {
            if (depth > 0) {
                sb.append(" / ");
            }
            sb.append(c.getClass().getName()).append(": ").append(oneLine(String.valueOf(c.getMessage())));
            if (c.getCause() == c) {
                break;
            }
        }
        return sb.toString();
    }

    private static String oneLine(String s) {
        return s.replace('\r', ' ').replace('\n', ' ').replace('\t', ' ');
    }

    private static String esc(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                default:
                    sb.append(c);
            }
        }
        return sb.toString();
    }
}
