// A long-lived driver around Flink's own BashJavaUtils, the utility Flink's bin/config.sh runs
// to turn a configuration directory into JVM memory flags. Used by tests/flink_memory.rs.
//
// Protocol (UTF-8, one request and one response per line):
//   request:  "TM <configDir>" or "JM <configDir>"
//   response: "OK\t<every line BashJavaUtils printed, joined by \t>"
//             "ERR\t<class>: <message> / <cause class>: <cause message> / …"
// stdout carries nothing else: System.out is swapped for a buffer around each call and points
// at stderr in between, so stray prints and logging cannot corrupt the protocol.

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.runtime.util.bash.BashJavaUtils;

public final class MemoryHarness {
    private MemoryHarness() {}

    public static void main(String[] args) throws Exception {
        PrintStream protocol =
                new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        PrintStream idle = System.err;
        System.setOut(idle);
        BufferedReader in =
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            protocol.print(answer(line, idle));
            protocol.print('\n');
            protocol.flush();
        }
    }

    private static String answer(String request, PrintStream idle) {
        int space = request.indexOf(' ');
        String kind = space < 0 ? request : request.substring(0, space);
        String dir = space < 0 ? "" : request.substring(space + 1);
        String command;
        switch (kind) {
            case "TM":
                command = "GET_TM_RESOURCE_PARAMS";
                break;
            case "JM":
                command = "GET_JM_RESOURCE_PARAMS";
                break;
            default:
                return "ERR\tharness: unknown request `" + oneLine(request) + "` (want TM or JM <configDir>)";
        }
        if (dir.isEmpty()) {
            return "ERR\tharness: request without a config directory";
        }
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(buffer, true, StandardCharsets.UTF_8);
        System.setOut(capture);
        try {
            BashJavaUtils.main(new String[] {command, "--configDir", dir});
        } catch (Throwable t) {
            return "ERR\t" + chain(t);
        } finally {
            capture.flush();
            System.setOut(idle);
        }
        List<String> lines = new ArrayList<>();
        for (String l : buffer.toString(StandardCharsets.UTF_8).split("\\R")) {
            if (!l.isEmpty()) {
                lines.add(oneLine(l));
            }
        }
        return "OK\t" + String.join("\t", lines);
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
}
