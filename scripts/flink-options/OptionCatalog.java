// OptionCatalog: list every ConfigOption declared in a set of Flink jars, as the rows of
// policies/flink/options/<minor>.tsv. scripts/flink-options.sh compiles and runs it; that script is
// the way to regenerate those files. Not part of the flinkgen build.
//
// Usage:
//   java -cp <dir of this class>:<dependency jars, e.g. log4j> OptionCatalog \
//        [--exclude <class name prefix>]… [--only <jar>=<class name prefix>[,<prefix>…]]… <jar to scan>…
//
// One URLClassLoader over the -cp entries and the jars to scan loads every class of every jar to
// scan, without initialising it. A class declaring a `public static` field of type
// org.apache.flink.configuration.ConfigOption is then initialised (the fields are static finals
// built in <clinit>) and those fields are read. A Throwable while loading or initialising a class
// skips that class (reported on stderr when the class declares ConfigOption fields, or with
// -Doptioncatalog.listSkipped=true for any class).
// `--only JAR=PREFIX,…` restricts the scan of JAR (also listed as a jar to scan) to the classes whose
// name starts with one of the prefixes; `--exclude PREFIX` skips the classes whose name starts with
// PREFIX in every jar. Always skipped: shaded classes (…/shaded/…) and test/example classes (a
// package segment test, tests, testutil, testutils, example, examples; a simple name starting with
// Test or ending in Test, Tests, ITCase).
//
// Per option:
//   key              ConfigOption.key(), prefixed with "<value>." when the field carries
//                    @Documentation.SuffixOption("<value>") (the key as Flink's docs show it, e.g.
//                    metrics.reporter.<name>.factory.class)
//   type             from the package-private ConfigOption.getClazz() and isList(), called
//                    reflectively: isList() → list; MemorySize → memory, Duration → duration,
//                    Boolean → boolean, Integer → int, Long → long, Float → float, Double → double,
//                    String → string, an Enum → enum, a Map → map, Class → class; anything else is
//                    reported on stderr and written as "?<class name>"
//   deprecated_keys  FallbackKey.getKey() of every fallbackKeys() entry (deprecated and plain
//                    fallback keys), declaration order, space separated
//   enum_values      Enum.name() of every constant, for enum options; empty otherwise
// Fields sharing a key make one row: deprecated keys are unioned; on a type conflict the type of a
// field that is not @Deprecated wins (reported on stderr).
//
// stdout: the rows sorted by key, "key<TAB>type<TAB>deprecated_keys<TAB>enum_values", no header.
// stderr: lines starting "# ": per jar counts, type conflicts, undetermined types, skipped classes,
// plain (not deprecated) fallback keys;
// -Doptioncatalog.listOrigins=true adds the declaring field(s) of every key, and
// -Doptioncatalog.listUndocumented=true the keys declared only by @Documentation.ExcludeFromDocumentation fields.

import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

public class OptionCatalog {

    static final class Row {
        final String key;
        String type;
        final LinkedHashSet<String> deprecated = new LinkedHashSet<>();
        String enumValues = "";
        final List<String> origins = new ArrayList<>();
        boolean documented = false; // true when at least one field is not @ExcludeFromDocumentation
        boolean allDeprecated = true; // true while every field seen is @Deprecated (or in a @Deprecated class)

        Row(String key) {
            this.key = key;
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, List<String>> only = new LinkedHashMap<>();
        List<String> jars = new ArrayList<>();
        List<String> exclude = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--exclude")) {
                exclude.add(args[++i]);
            } else if (args[i].equals("--only")) {
                String spec = args[++i];
                int eq = spec.lastIndexOf('=');
                List<String> prefixes = new ArrayList<>();
                for (String p : spec.substring(eq + 1).split(",")) {
                    prefixes.add(p);
                }
                only.put(new File(spec.substring(0, eq)).getCanonicalPath(), prefixes);
            } else {
                jars.add(args[i]);
            }
        }
        if (jars.isEmpty()) {
            System.err.println("usage: OptionCatalog [--only JAR=PKG,…]… JAR…");
            System.exit(2);
        }

        // One loader over the whole classpath: the jars to scan and their dependencies.
        List<URL> urls = new ArrayList<>();
        for (String p : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!p.isEmpty()) urls.add(new File(p).toURI().toURL());
        }
        for (String j : jars) urls.add(new File(j).toURI().toURL());
        ClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());

        Class<?> configOption = Class.forName("org.apache.flink.configuration.ConfigOption", false, loader);
        Method getClazz = configOption.getDeclaredMethod("getClazz");
        getClazz.setAccessible(true);
        Method isList = configOption.getDeclaredMethod("isList");
        isList.setAccessible(true);
        Method keyOf = configOption.getMethod("key");
        Method fallbackKeys = configOption.getMethod("fallbackKeys");
        Class<?> fallbackKey = Class.forName("org.apache.flink.configuration.FallbackKey", false, loader);
        Method fallbackKeyName = fallbackKey.getMethod("getKey");
        Method fallbackKeyDeprecated = fallbackKey.getMethod("isDeprecated");
        Class<?> memorySize = Class.forName("org.apache.flink.configuration.MemorySize", false, loader);

        TreeMap<String, Row> rows = new TreeMap<>();
        int undetermined = 0;
        for (String jar : jars) {
            List<String> prefixes = only.get(new File(jar).getCanonicalPath());
            int classes = 0, withOptions = 0, fields = 0, skipped = 0, excluded = 0;
            Set<String> newKeys = new LinkedHashSet<>();
            try (JarFile jf = new JarFile(jar)) {
                for (Enumeration<JarEntry> e = jf.entries(); e.hasMoreElements(); ) {
                    String n = e.nextElement().getName();
                    if (!n.endsWith(".class") || n.contains("-") || n.startsWith("META-INF/")) continue;
                    if (n.contains("/shaded/") || n.startsWith("org/apache/flink/shaded/")) continue;
                    String name = n.substring(0, n.length() - ".class".length()).replace('/', '.');
                    if (prefixes != null && prefixes.stream().noneMatch(name::startsWith)) continue;
                    if (exclude.stream().anyMatch(name::startsWith)) continue;
                    if (isTestOrExample(n)) continue;
                    classes++;
                    List<Field> optionFields = new ArrayList<>();
                    try {
                        // Load without initialising: only classes declaring ConfigOption fields run <clinit>.
                        Class<?> c = Class.forName(name, false, loader);
                        for (Field f : c.getDeclaredFields()) {
                            int m = f.getModifiers();
                            if (Modifier.isStatic(m) && Modifier.isPublic(m) && f.getType() == configOption) {
                                optionFields.add(f);
                            }
                        }
                        if (optionFields.isEmpty()) continue;
                        Class.forName(name, true, loader);
                    } catch (Throwable t) {
                        skipped++;
                        if (!optionFields.isEmpty()) {
                            System.err.println("# skipped (cannot initialise) " + name + ": " + t);
                        } else if (Boolean.getBoolean("optioncatalog.listSkipped")) {
                            System.err.println("# not loadable " + name + ": " + t);
                        }
                        continue;
                    }
                    withOptions++;
                    for (Field f : optionFields) {
                        Object option;
                        try {
                            f.setAccessible(true);
                            option = f.get(null);
                        } catch (Throwable t) {
                            System.err.println("# skipped field " + name + "." + f.getName() + ": " + t);
                            continue;
                        }
                        if (option == null) continue;
                        fields++;
                        // A @Documentation.SuffixOption("metrics.reporter.<name>") option is read relative
                        // to that prefix; its documented key (as in Flink's docs generator) is prefix + "." + key.
                        String suffixPrefix = annotationValue(f, "SuffixOption");
                        String prefix = suffixPrefix == null ? "" : suffixPrefix + ".";
                        String key = prefix + keyOf.invoke(option);
                        boolean docExcluded = annotationValue(f, "ExcludeFromDocumentation") != null;
                        boolean deprecatedField = f.isAnnotationPresent(Deprecated.class)
                                || f.getDeclaringClass().isAnnotationPresent(Deprecated.class);
                        if (docExcluded) excluded++;
                        String type;
                        String enumValues = "";
                        Class<?> clazz = (Class<?>) getClazz.invoke(option);
                        if ((Boolean) isList.invoke(option)) {
                            type = "list";
                        } else if (clazz.isEnum()) {
                            type = "enum";
                            StringBuilder sb = new StringBuilder();
                            for (Object k : clazz.getEnumConstants()) {
                                if (sb.length() > 0) sb.append(' ');
                                sb.append(((Enum<?>) k).name());
                            }
                            enumValues = sb.toString();
                        } else {
                            type = typeName(clazz, memorySize);
                            if (type == null) {
                                type = "?" + clazz.getName();
                                undetermined++;
                                System.err.println("# undetermined type " + clazz.getName() + " for " + key
                                        + " (" + name + "." + f.getName() + ")");
                            }
                        }
                        String origin = name + "." + f.getName();
                        Row row = rows.get(key);
                        if (row == null) {
                            row = new Row(key);
                            row.type = type;
                            row.enumValues = enumValues;
                            rows.put(key, row);
                            newKeys.add(key);
                        } else if (!row.type.equals(type) || !row.enumValues.equals(enumValues)) {
                            // Keep the type of a non-@Deprecated field (e.g. the Duration option over the
                            // deprecated String option of the same key).
                            boolean replace = row.allDeprecated && !deprecatedField;
                            System.err.println("# type conflict for " + key + ": " + row.type + " " + row.origins
                                    + " vs " + type + " [" + origin + (deprecatedField ? " @Deprecated" : "")
                                    + "]; keeping " + (replace ? type : row.type));
                            if (replace) {
                                row.type = type;
                                row.enumValues = enumValues;
                            }
                        }
                        if (!deprecatedField) row.allDeprecated = false;
                        row.origins.add(origin);
                        if (!docExcluded) row.documented = true;
                        for (Object fk : (Iterable<?>) fallbackKeys.invoke(option)) {
                            String d = (String) fallbackKeyName.invoke(fk);
                            d = prefix + d;
                            if (!d.equals(key) && row.deprecated.add(d)
                                    && !(Boolean) fallbackKeyDeprecated.invoke(fk)) {
                                System.err.println("# plain (not deprecated) fallback key " + d + " of " + key);
                            }
                        }
                    }
                }
            }
            System.err.println("# jar " + new File(jar).getName() + (prefixes == null ? "" : " (only " + prefixes + ")")
                    + ": classes=" + classes + " option-classes=" + withOptions + " option-fields=" + fields
                    + " new-keys=" + newKeys.size() + " exclude-from-doc-fields=" + excluded
                    + " classes-not-loadable=" + skipped);
        }
        StringBuilder out = new StringBuilder();
        int undocumented = 0;
        for (Row r : rows.values()) {
            if (!r.documented) undocumented++;
            out.append(r.key).append('\t').append(r.type).append('\t')
                    .append(String.join(" ", r.deprecated)).append('\t').append(r.enumValues).append('\t')
                    .append(r.allDeprecated ? "deprecated" : "").append('\n');
        }
        System.out.print(out);
        System.out.flush();
        System.err.println("# total keys=" + rows.size() + " undetermined-types=" + undetermined
                + " keys-only-in-ExcludeFromDocumentation-fields=" + undocumented);
        if (Boolean.getBoolean("optioncatalog.listUndocumented")) {
            for (Row r : rows.values()) {
                if (!r.documented) System.err.println("# undocumented " + r.key + " " + r.origins);
            }
        }
        if (Boolean.getBoolean("optioncatalog.listOrigins")) {
            for (Row r : rows.values()) System.err.println("# origin " + r.key + " " + r.origins);
        }
    }

    static String typeName(Class<?> c, Class<?> memorySize) {
        if (c == memorySize) return "memory";
        if (c == java.time.Duration.class) return "duration";
        if (c == Boolean.class) return "boolean";
        if (c == Integer.class) return "int";
        if (c == Long.class) return "long";
        if (c == Float.class) return "float";
        if (c == Double.class) return "double";
        if (c == String.class) return "string";
        if (Map.class.isAssignableFrom(c)) return "map";
        if (c == Class.class) return "class";
        return null;
    }

    // The annotation org.apache.flink.annotation.docs.Documentation.<simpleName> on f: null when absent,
    // else its value() as a string ("" when it has no value()).
    static String annotationValue(Field f, String simpleName) {
        try {
            for (java.lang.annotation.Annotation a : f.getAnnotations()) {
                Class<?> t = a.annotationType();
                if (t.getName().equals("org.apache.flink.annotation.docs.Documentation$" + simpleName)) {
                    try {
                        return String.valueOf(t.getMethod("value").invoke(a));
                    } catch (NoSuchMethodException e) {
                        return "";
                    }
                }
            }
        } catch (Throwable t) {
            // an annotation whose class is missing: treat as absent
        }
        return null;
    }

    static boolean isTestOrExample(String entry) {
        String[] parts = entry.substring(0, entry.length() - ".class".length()).split("/");
        for (int i = 0; i < parts.length - 1; i++) {
            switch (parts[i]) {
                case "test": case "tests": case "testutils": case "testutil": case "example": case "examples":
                    return true;
                default:
            }
        }
        String simple = parts[parts.length - 1];
        int dollar = simple.indexOf('$');
        if (dollar >= 0) simple = simple.substring(0, dollar);
        return simple.startsWith("Test") || simple.endsWith("Test") || simple.endsWith("Tests")
                || simple.endsWith("ITCase");
    }
}
