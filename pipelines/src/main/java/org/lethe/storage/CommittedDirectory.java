package org.lethe.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A directory on any Hadoop file system whose commit point is a marker file written last,
 * {@value #MARKER}: it lists every file (relative path, bytes, SHA-256) and a digest over that
 * listing. Object stores have no atomic directory rename, so a reader trusts a directory only when
 * its marker is there and parses; a writer that dies mid-upload leaves a directory without one.
 */
public final class CommittedDirectory {

    /** The commit marker's name inside a committed directory. */
    public static final String MARKER = "_lethe_committed.json";

    // Written first, then renamed to MARKER: a reader never sees half a marker.
    private static final String MARKER_TEMP = "._lethe_committed.json.tmp";
    private static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(CommittedDirectory.class);

    /** One file of a committed directory: its path relative to the directory ('/'-separated). */
    public record FileEntry(String path, long bytes, String sha256) {}

    /**
     * A parsed commit marker: the files in path order and the SHA-256 of their listing (one
     * {@code path \t bytes \t sha256 \n} line each), which names the directory's content.
     */
    public record Marker(List<FileEntry> files, String digest) {

        public Marker {
            files = List.copyOf(files);
        }

        /** The marker of {@code files}, digest computed. */
        public static Marker of(List<FileEntry> files) {
            List<FileEntry> sorted = new ArrayList<>(files);
            sorted.sort(Comparator.comparing(FileEntry::path));
            return new Marker(sorted, listingDigest(sorted));
        }

        /** The entry of the file at {@code path} (relative, '/'-separated), if it is listed. */
        public Optional<FileEntry> file(String path) {
            return files.stream().filter(f -> f.path().equals(path)).findFirst();
        }

        /** The total size of the listed files. */
        public long bytes() {
            return files.stream().mapToLong(FileEntry::bytes).sum();
        }

        String toJson() {
            ObjectNode root = JSON.createObjectNode();
            root.put("format", FORMAT);
            ArrayNode list = root.putArray("files");
            for (FileEntry f : files) {
                list.addObject().put("path", f.path()).put("bytes", f.bytes()).put("sha256", f.sha256());
            }
            root.put("digest", digest);
            try {
                return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
            } catch (IOException e) {
                throw new IllegalStateException("cannot serialize a commit marker", e);
            }
        }

        static Marker parse(byte[] bytes, String where) throws IOException {
            JsonNode root = JSON.readTree(bytes);
            if (root == null || root.path("format").asInt() != FORMAT || !root.path("files").isArray()) {
                throw new IOException(where + ": not a format " + FORMAT + " commit marker");
            }
            List<FileEntry> files = new ArrayList<>();
            for (JsonNode f : root.get("files")) {
                files.add(new FileEntry(f.path("path").asText(), f.path("bytes").asLong(-1),
                        f.path("sha256").asText()));
            }
            Marker m = of(files);
            if (!m.digest().equals(root.path("digest").asText())) {
                throw new IOException(where + ": digest " + root.path("digest").asText()
                        + " does not match its listing (" + m.digest() + ")");
            }
            return m;
        }
    }

    private CommittedDirectory() {}

    /**
     * Commits the files of the local directory {@code staging} as {@code target}: an existing
     * directory there is uncommitted (its marker deleted) and removed first; on the local file
     * system {@code staging} is renamed into place (no copy; it is gone afterwards), elsewhere each
     * file is copied up (staging stays for the caller to delete); the marker is written last.
     *
     * @return the marker written
     */
    public static Marker commit(java.nio.file.Path staging, Path target, Configuration conf) throws IOException {
        Marker marker = Marker.of(listLocal(staging));
        FileSystem fs = target.getFileSystem(conf);
        Path dir = fs.makeQualified(target);
        if (fs.exists(dir)) {
            // Uncommitted before any of its files goes: a reader never trusts a half-deleted directory.
            fs.delete(new Path(dir, MARKER), false);
            if (!fs.delete(dir, true) && fs.exists(dir)) {
                throw new IOException("cannot remove the previous " + dir);
            }
        }
        if (Locations.isLocal(fs)) {
            java.nio.file.Path local = Locations.localPath(dir);
            Files.createDirectories(local.toAbsolutePath().getParent());
            try {
                Files.move(staging, local, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                copyTree(staging, local); // staging on another local disk
                Locations.deleteTree(staging);
            }
            writeLocalMarker(local, marker);
        } else {
            for (FileEntry f : marker.files()) {
                try (InputStream in = Files.newInputStream(staging.resolve(f.path()));
                        FSDataOutputStream out = fs.create(new Path(dir, f.path()), true)) {
                    in.transferTo(out);
                }
            }
            Path temp = new Path(dir, MARKER_TEMP);
            try (FSDataOutputStream out = fs.create(temp, true)) {
                out.write(marker.toJson().getBytes(StandardCharsets.UTF_8));
            }
            if (!fs.rename(temp, new Path(dir, MARKER))) {
                throw new IOException("cannot rename " + temp + " to " + MARKER);
            }
        }
        return marker;
    }

    /**
     * The marker of {@code target}: empty when there is none (never committed, being replaced, or
     * its writer died) or it does not parse (logged as a warning naming it).
     */
    public static Optional<Marker> read(Path target, Configuration conf) {
        Path file = new Path(target, MARKER);
        byte[] bytes;
        try (InputStream in = file.getFileSystem(conf).open(file)) {
            bytes = in.readAllBytes();
        } catch (FileNotFoundException e) {
            return Optional.empty();
        } catch (IOException e) {
            LOG.warn("{}: unreadable commit marker, directory not trusted: {}", file, e.getMessage());
            return Optional.empty();
        }
        try {
            return Optional.of(Marker.parse(bytes, file.toString()));
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: corrupt commit marker, directory not trusted: {}", file, e.getMessage());
            return Optional.empty();
        }
    }

    /** Writes {@code marker} into the local directory {@code dir}, to a temporary name first. */
    static void writeLocalMarker(java.nio.file.Path dir, Marker marker) throws IOException {
        java.nio.file.Path temp = dir.resolve(MARKER_TEMP);
        Files.writeString(temp, marker.toJson());
        Files.move(temp, dir.resolve(MARKER), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Whether {@code name} (a file name, no directory) is this class's own bookkeeping. */
    static boolean isMarker(String name) {
        return name.equals(MARKER) || name.equals(MARKER_TEMP);
    }

    /** Every regular file under {@code root} but a marker, with size and SHA-256. */
    static List<FileEntry> listLocal(java.nio.file.Path root) throws IOException {
        List<FileEntry> files = new ArrayList<>();
        try (Stream<java.nio.file.Path> walk = Files.walk(root)) {
            for (java.nio.file.Path p : walk.filter(Files::isRegularFile).toList()) {
                String rel = root.relativize(p).toString().replace(java.io.File.separatorChar, '/');
                if (!isMarker(rel)) {
                    files.add(new FileEntry(rel, Files.size(p), sha256(p)));
                }
            }
        }
        return files;
    }

    /** Hex SHA-256 of a local file's bytes. */
    static String sha256(java.nio.file.Path file) throws IOException {
        MessageDigest sha = sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Copies {@code in} to {@code out}, returning the hex SHA-256 of the bytes copied. */
    static String copyHashing(InputStream in, OutputStream out) throws IOException {
        MessageDigest sha = sha256();
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
            sha.update(buf, 0, n);
            out.write(buf, 0, n);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the Java platform", e);
        }
    }

    static String listingDigest(List<FileEntry> sorted) {
        StringBuilder b = new StringBuilder();
        for (FileEntry f : sorted) {
            b.append(f.path()).append('\t').append(f.bytes()).append('\t').append(f.sha256()).append('\n');
        }
        return HexFormat.of().formatHex(sha256().digest(b.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private static void copyTree(java.nio.file.Path from, java.nio.file.Path to) throws IOException {
        try (Stream<java.nio.file.Path> walk = Files.walk(from)) {
            for (java.nio.file.Path p : walk.toList()) {
                java.nio.file.Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
