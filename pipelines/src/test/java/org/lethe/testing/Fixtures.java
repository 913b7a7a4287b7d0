package org.lethe.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Locates the shared read-only fixtures (a real pretrained Llama, TOFU data): system property
 * {@code lethe.fixtures}, else env {@code LETHE_FIXTURES}, else {@code ../shared/fixtures} above the
 * repository. Tests that need them are skipped with a message when they are absent.
 */
public final class Fixtures {

    private Fixtures() {}

    /** The fixtures folder, or a skipped test. */
    public static Path root() {
        String configured = System.getProperty("lethe.fixtures", System.getenv("LETHE_FIXTURES"));
        Path root = configured != null ? Paths.get(configured) : findUpwards();
        Assumptions.assumeTrue(root != null && Files.isDirectory(root),
                "shared fixtures not found (set -Dlethe.fixtures=DIR or LETHE_FIXTURES; expected"
                        + " ../shared/fixtures beside the repository): skipping");
        return root;
    }

    /** The stories260K Hugging Face model directory, or a skipped test. */
    public static Path stories260k() {
        Path dir = root().resolve("stories260K");
        Assumptions.assumeTrue(Files.isRegularFile(dir.resolve("reference.json")),
                dir + "/reference.json not found: skipping");
        return dir;
    }

    private static Path findUpwards() {
        Path p = Paths.get("").toAbsolutePath();
        while (p != null) {
            Path candidate = p.resolveSibling("shared").resolve("fixtures");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
            p = p.getParent();
        }
        return null;
    }
}
