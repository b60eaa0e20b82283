// A long-lived driver around Kafka's own client configuration classes, used by
// tests/kafka_clients.rs to check the producer and consumer properties flinkgen writes.
//
// Protocol (UTF-8, one request and one response per line):
//   request:  "PRODUCER <properties file>", "CONSUMER <properties file>" or "VERSION"
//   response: "OK\t<key>=<effective value>\t…"  one field per key of the file, sorted by
//                                               key; "?<key>=…" marks a key that the
//                                               client's ConfigDef does not define (its value
//                                               is the resolved original)
//             "OK\tkafka-clients=<version>\tcommit=<id>"       (VERSION)
//             "ERR\t<class>: <message> / <cause class>: <cause message> / …"
//             "ERR\tharness: …"                                   a malformed request
// Values are escaped so that a response stays on one line: \ → \\, tab → \t, LF → \n, CR → \r.
// Fields starting with "#" are notes (e.g. "#loopback=…") that carry no key.
//
// What one request does:
//  1. java.util.Properties.load(InputStream): how Kafka's tools read property files
//     (ISO-8859-1, backslash-u Unicode escapes, escaped `:` and `=`).
//  2. Config providers: Kubernetes Secrets are mounted under /opt/flink/secrets in the Flink
//     pods, which this machine does not have. For every provider whose class is Kafka's
//     DirectoryConfigProvider, "${<name>:/abs/path:key}" becomes "${<name>:<secret root>/abs/path:key}"
//     in the loaded Properties, where <secret root> is the `--secret-root` directory; the test
//     writes synthetic secret files at <secret root><mountPath>/<key>, where the job's
//     FlinkDeployment mounts each Secret (/opt/flink/secrets/<secret>).
//     EnvVarConfigProvider placeholders are left as they are: they read this JVM's environment,
//     which the test sets. Nothing else is changed.
//  3. key.serializer/value.serializer (producer) or key.deserializer/value.deserializer
//     (consumer) are set to the ByteArray (de)serializers when absent: KafkaSink and KafkaSource
//     set them themselves.
//  4. new ProducerConfig(props) / new ConsumerConfig(props): parsing, validators, the resolution
//     of config providers, and the post-processing (idempotence rules, acks "all" → "-1" …).
//  5. new KafkaProducer(props) / new KafkaConsumer(props), closed at once with a zero timeout:
//     the checks the clients make only when constructed (delivery.timeout.ms against linger.ms +
//     request.timeout.ms, the SASL JAAS config and login module, the SSL engine, bootstrap
//     addresses …). They connect lazily; to be sure no connection leaves this machine,
//     bootstrap.servers is replaced by 127.0.0.1 with the same ports for this step unless every
//     configured host resolves to loopback addresses only (on a machine without the cluster's
//     DNS, resolution fails, and the client would refuse "No resolvable bootstrap urls"); the
//     response then carries "#loopback=<original bootstrap.servers>". Step 4 always sees the
//     configured value.
// The effective value of a key is its entry in values() after step 4 (lists joined with ",",
// classes by name, passwords "[hidden]" unless the harness runs with --reveal-passwords, which
// the test uses because every secret it hands over is synthetic), or, for a key the ConfigDef
// does not define, its resolved original. stdout carries nothing but responses: System.out
// points at stderr, so stray prints and logging cannot corrupt the protocol.
//
// Usage: java -cp <classes>:<the jars of scripts/kafka-jars.sh> ClientConfigHarness
//            [--secret-root DIR] [--reveal-passwords]

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.provider.DirectoryConfigProvider;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.AppInfoParser;

public final class ClientConfigHarness {
    private ClientConfigHarness() {}

    private static String secretRoot = null;
    private static boolean revealPasswords = false;

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--secret-root":
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("--secret-root needs a directory");
                    }
                    secretRoot = Paths.get(args[++i]).toAbsolutePath().toString();
                    break;
                case "--reveal-passwords":
                    revealPasswords = true;
                    break;
                default:
                    throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        PrintStream protocol =
                new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        System.setOut(System.err);
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            String response;
            try {
                response = answer(line.strip());
            } catch (Throwable t) {
                response = "ERR\t" + chain(t);
            }
            protocol.print(response);
            protocol.print('\n');
            protocol.flush();
        }
    }

    private static String answer(String request) throws Exception {
        if (request.equals("VERSION")) {
            return "OK\tkafka-clients=" + escape(AppInfoParser.getVersion())
                    + "\tcommit=" + escape(AppInfoParser.getCommitId());
        }
        int space = request.indexOf(' ');
        String kind = space < 0 ? request : request.substring(0, space);
        String file = space < 0 ? "" : request.substring(space + 1);
        boolean producer;
        switch (kind) {
            case "PRODUCER":
                producer = true;
                break;
            case "CONSUMER":
                producer = false;
                break;
            default:
                return "ERR\tharness: unknown request `" + escape(request)
                        + "` (want PRODUCER <file>, CONSUMER <file> or VERSION)";
        }
        if (file.isEmpty()) {
            return "ERR\tharness: request without a properties file";
        }
        Properties loaded = new Properties();
        try (InputStream s = Files.newInputStream(Path.of(file))) {
            loaded.load(s);
        }
        Set<String> keys = new TreeSet<>(loaded.stringPropertyNames());

        Properties props = new Properties();
        props.putAll(loaded);
        redirectDirectoryProviders(props);
        if (producer) {
            props.putIfAbsent(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
            props.putIfAbsent(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        } else {
            props.putIfAbsent(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            props.putIfAbsent(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        }

        // Step 4: the config class.
        AbstractConfig config = producer ? new ProducerConfig(props) : new ConsumerConfig(props);
        Set<String> defined = producer ? ProducerConfig.configNames() : ConsumerConfig.configNames();

        // Step 5: the client, network-free.
        List<String> notes = new ArrayList<>();
        Properties clientProps = new Properties();
        clientProps.putAll(props);
        String bootstrap = props.getProperty("bootstrap.servers");
        if (bootstrap != null && !allLoopback(bootstrap)) {
            clientProps.setProperty("bootstrap.servers", loopback(bootstrap));
            notes.add("#loopback=" + escape(bootstrap));
        }
        if (producer) {
            KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(clientProps);
            p.close(Duration.ZERO);
        } else {
            KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(clientProps);
            c.close(Duration.ZERO);
        }

        Map<String, ?> values = config.values();
        Map<String, Object> originals = config.originals();
        StringBuilder sb = new StringBuilder("OK");
        for (String key : keys) {
            sb.append('\t');
            if (defined.contains(key)) {
                sb.append(escape(key)).append('=').append(escape(text(values.get(key))));
            } else {
                sb.append('?').append(escape(key)).append('=').append(escape(text(originals.get(key))));
            }
        }
        for (String n : notes) {
            sb.append('\t').append(n);
        }
        return sb.toString();
    }

    /** Point every DirectoryConfigProvider placeholder at the secret root (see the header). */
    private static void redirectDirectoryProviders(Properties props) {
        if (secretRoot == null) {
            return;
        }
        String names = props.getProperty("config.providers");
        if (names == null) {
            return;
        }
        for (String raw : names.split(",")) {
            String name = raw.trim();
            if (name.isEmpty()) {
                continue;
            }
            String cls = props.getProperty("config.providers." + name + ".class", "").trim();
            if (!cls.equals(DirectoryConfigProvider.class.getName())) {
                continue;
            }
            String from = "${" + name + ":/";
            String to = "${" + name + ":" + secretRoot + "/";
            for (String key : props.stringPropertyNames()) {
                String v = props.getProperty(key);
                if (v.contains(from)) {
                    props.setProperty(key, v.replace(from, to));
                }
            }
        }
    }

    private static List<String[]> hostPorts(String bootstrap) {
        List<String[]> out = new ArrayList<>();
        for (String raw : bootstrap.split(",")) {
            String a = raw.trim();
            if (a.isEmpty()) {
                continue;
            }
            int colon = a.lastIndexOf(':');
            String host = colon < 0 ? a : a.substring(0, colon);
            String port = colon < 0 ? "9092" : a.substring(colon + 1);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            out.add(new String[] {host, port});
        }
        return out;
    }

    private static boolean allLoopback(String bootstrap) {
        List<String[]> hps = hostPorts(bootstrap);
        if (hps.isEmpty()) {
            return false;
        }
        for (String[] hp : hps) {
            try {
                for (InetAddress a : InetAddress.getAllByName(hp[0])) {
                    if (!a.isLoopbackAddress()) {
                        return false;
                    }
                }
            } catch (UnknownHostException e) {
                return false;
            }
        }
        return true;
    }

    private static String loopback(String bootstrap) {
        List<String> out = new ArrayList<>();
        for (String[] hp : hostPorts(bootstrap)) {
            out.add("127.0.0.1:" + hp[1]);
        }
        return String.join(",", out);
    }

    /** A parsed value in its string form; an unresolved placeholder shows the file's path. */
    private static String text(Object v) {
        String s;
        if (v == null) {
            s = "null";
        } else if (v instanceof Password) {
            s = revealPasswords ? ((Password) v).value() : Password.HIDDEN;
        } else if (v instanceof Class) {
            s = ((Class<?>) v).getName();
        } else if (v instanceof List) {
            List<String> parts = new ArrayList<>();
            for (Object o : (List<?>) v) {
                parts.add(text(o));
            }
            s = String.join(",", parts);
        } else {
            s = String.valueOf(v);
        }
        return unroot(s);
    }

    private static String unroot(String s) {
        return secretRoot == null ? s : s.replace(secretRoot + "/", "/");
    }

    /** "class: message / cause class: cause message / …", on one line. */
    private static String chain(Throwable t) {
        StringBuilder sb = new StringBuilder();
        int depth = 0;
        for (Throwable c = t; c != null && depth < 16; c = c.getCause(), depth++) {
            if (depth > 0) {
                sb.append(" / ");
            }
            sb.append(c.getClass().getName()).append(": ").append(escape(String.valueOf(c.getMessage())));
            if (c.getCause() == c) {
                break;
            }
        }
        return unroot(sb.toString());
    }

    private static String escape(String s) {
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
