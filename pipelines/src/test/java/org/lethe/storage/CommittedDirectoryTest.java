package org.lethe.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.data.FictitiousAuthors;
import org.lethe.testing.FaultyFileSystem;
import org.lethe.testing.TinyModels;

/** Commits of a real (tiny) model directory to file: and to a non-local scheme, their markers and replacements. */
class CommittedDirectoryTest {

    private static final Configuration CONF = new Configuration();

    @TempDir
    static Path shared;
    private static Path model;

    @BeforeAll
    static void model() throws Exception {
        Path bench = shared.resolve("bench");
        FictitiousAuthors.generate(1, 3, 10).write(bench, 512);
        model = TinyModels.save(bench, 5, shared.resolve("model"));
    }

    /** A copy of the model directory to commit (a commit to file: moves its staging away). */
    private static Path staging(Path dir) throws Exception {
        Files.createDirectories(dir);
        try (var files = Files.list(model)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        return dir;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    @Test
    void aLocalCommitRenamesStagingAndListsEveryFileWithItsSha256(@TempDir Path tmp) throws Exception {
        Path staging = staging(tmp.resolve(".staging"));
        Path target = tmp.resolve("out").resolve("model");
        CommittedDirectory.Marker written = CommittedDirectory.commit(staging, new org.apache.hadoop.fs.Path(
                target.toUri()), CONF);

        assertFalse(Files.exists(staging), "file: commits rename the staging directory into place");
        assertTrue(Files.isRegularFile(target.resolve(CommittedDirectory.MARKER)));
        List<String> names;
        try (var files = Files.list(model)) {
            names = files.map(f -> f.getFileName().toString()).sorted().toList();
        }
        assertEquals(names, written.files().stream().map(CommittedDirectory.FileEntry::path).toList());
        assertTrue(names.contains("model.safetensors") && names.contains("config.json"), names.toString());
        // One digest by hand, with MessageDigest over the file's bytes.
        CommittedDirectory.FileEntry weights = written.file("model.safetensors").orElseThrow();
        assertEquals(sha256(model.resolve("model.safetensors")), weights.sha256());
        assertEquals(Files.size(model.resolve("model.safetensors")), weights.bytes());
        StringBuilder listing = new StringBuilder();
        for (CommittedDirectory.FileEntry f : written.files()) {
            listing.append(f.path()).append('\t').append(f.bytes()).append('\t').append(f.sha256()).append('\n');
        }
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(listing.toString().getBytes(StandardCharsets.UTF_8))), written.digest());
        assertEquals(Optional.of(written), CommittedDirectory.read(new org.apache.hadoop.fs.Path(target.toString()),
                CONF));
        assertArrayEquals(Files.readAllBytes(model.resolve("model.safetensors")),
                Files.readAllBytes(target.resolve("model.safetensors")));
    }

    @Test
    void aRemoteCommitCopiesEachFileThenWritesTheMarkerLast(@TempDir Path tmp) throws Exception {
        Path staging = staging(tmp.resolve("staging"));
        Path target = tmp.resolve("remote").resolve("model");
        FaultyFileSystem.disarm();
        long before = FaultyFileSystem.operations();
        CommittedDirectory.Marker written = CommittedDirectory.commit(staging, FaultyFileSystem.path(target), CONF);
        long operations = FaultyFileSystem.operations() - before;

        assertTrue(Files.isDirectory(staging), "a remote commit copies; staging is the caller's");
        // One create per file, then the marker's create and rename.
        assertEquals(written.files().size() + 2, operations);
        for (CommittedDirectory.FileEntry f : written.files()) {
            assertArrayEquals(Files.readAllBytes(model.resolve(f.path())), Files.readAllBytes(target.resolve(f.path())),
                    f.path());
        }
        assertEquals(Optional.of(written), CommittedDirectory.read(FaultyFileSystem.path(target), CONF));
        try (var files = Files.list(target)) {
            assertEquals(written.files().size() + 1, files.count(), "the files and the marker, nothing else");
        }

        // A writer that dies at the marker's rename (the last operation) leaves no commit.
        Path second = tmp.resolve("remote").resolve("second");
        FaultyFileSystem.arm(operations);
        try {
            assertThrows(FaultyFileSystem.InjectedFault.class,
                    () -> CommittedDirectory.commit(staging, FaultyFileSystem.path(second), CONF));
        } finally {
            FaultyFileSystem.disarm();
        }
        assertTrue(Files.isRegularFile(second.resolve("model.safetensors")));
        assertEquals(Optional.empty(), CommittedDirectory.read(FaultyFileSystem.path(second), CONF));
    }

    @Test
    void aReplacementRemovesTheOldFilesAndAnUnparsableMarkerIsNotTrusted(@TempDir Path tmp) throws Exception {
        Path target = tmp.resolve("remote");
        Path first = staging(tmp.resolve("a"));
        Files.writeString(first.resolve("only-in-first.txt"), "old");
        CommittedDirectory.Marker old = CommittedDirectory.commit(first, FaultyFileSystem.path(target), CONF);
        Path second = staging(tmp.resolve("b"));
        Files.writeString(second.resolve("only-in-second.txt"), "new");
        CommittedDirectory.Marker replaced = CommittedDirectory.commit(second, FaultyFileSystem.path(target), CONF);

        assertFalse(old.digest().equals(replaced.digest()));
        assertFalse(Files.exists(target.resolve("only-in-first.txt")));
        assertEquals("new", Files.readString(target.resolve("only-in-second.txt")));
        assertEquals(Optional.of(replaced), CommittedDirectory.read(FaultyFileSystem.path(target), CONF));

        // The same through file: (rename into place) over a committed directory.
        Path local = tmp.resolve("local");
        CommittedDirectory.commit(staging(tmp.resolve("c")), new org.apache.hadoop.fs.Path(local.toUri()), CONF);
        Path again = staging(tmp.resolve("d"));
        Files.writeString(again.resolve("extra.txt"), "x");
        CommittedDirectory.Marker localMarker = CommittedDirectory.commit(again,
                new org.apache.hadoop.fs.Path(local.toUri()), CONF);
        assertTrue(localMarker.file("extra.txt").isPresent());
        assertEquals(Optional.of(localMarker), CommittedDirectory.read(new org.apache.hadoop.fs.Path(local.toUri()),
                CONF));

        // A marker whose digest does not match its listing (edited by hand, truncated) is not trusted.
        Path marker = target.resolve(CommittedDirectory.MARKER);
        Files.writeString(marker, Files.readString(marker).replace(replaced.digest(), "0".repeat(64)));
        assertEquals(Optional.empty(), CommittedDirectory.read(FaultyFileSystem.path(target), CONF));
        Files.writeString(marker, "{\"format\": 1, \"files\": [");
        assertEquals(Optional.empty(), CommittedDirectory.read(FaultyFileSystem.path(target), CONF));
    }
}
