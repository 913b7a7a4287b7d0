package org.lethe.model.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Local-filesystem helpers shared by the checkpoint writers. */
public final class LocalFiles {

    private LocalFiles() {}

    /**
     * Deletes a file or directory tree, best effort: it runs on cleanup paths where another error
     * may be in flight, and a leftover staging or backup directory is harmless (never read).
     *
     * @return whether nothing is left at {@code root}
     */
    public static boolean deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return true;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException ignored) {
            // reported through the return value
        }
        return !Files.exists(root);
    }
}
