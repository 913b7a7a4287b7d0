package org.lethe.store;

import java.util.regex.Pattern;

/** Run ids: the key of every table row, safe as a path segment and as a Spark SQL literal. */
public final class RunIds {
    /** What a run id may contain. */
    public static final Pattern PATTERN = Pattern.compile("[A-Za-z0-9._-]+");

    private static final Pattern INVALID_CHAR = Pattern.compile("[^A-Za-z0-9._-]");

    private RunIds() {}

    public static boolean isValid(String runId) {
        return runId != null && PATTERN.matcher(runId).matches() && !runId.equals(".") && !runId.equals("..");
    }

    /**
     * Returns {@code runId} if it is valid.
     *
     * @throws IllegalArgumentException naming the id and, where one exists, its sanitized form
     */
    public static String validate(String runId) {
        return validate(runId, "run id");
    }

    /** As {@link #validate(String)}, for another value with the same rules, called {@code what} in errors. */
    public static String validate(String value, String what) {
        if (isValid(value)) {
            return value;
        }
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(what + " is " + (value == null ? "null" : "empty") + ": expected [A-Za-z0-9._-]+");
        }
        if (value.equals(".") || value.equals("..")) {
            throw new IllegalArgumentException("invalid " + what + " '" + value + "': '.' and '..' name directories, not"
                    + " runs");
        }
        throw new IllegalArgumentException("invalid " + what + " '" + value + "': only [A-Za-z0-9._-] is allowed (sanitized: '"
                + sanitize(value) + "')");
    }

    /**
     * Replaces every character outside {@code [A-Za-z0-9._-]} with '_', so that an Airflow run id
     * such as {@code scheduled__2024-01-01T00:00:00+00:00} becomes a valid run id.
     */
    public static String sanitize(String runId) {
        if (runId == null || runId.isEmpty()) {
            throw new IllegalArgumentException("run id is empty: nothing to sanitize");
        }
        String clean = INVALID_CHAR.matcher(runId).replaceAll("_");
        return clean.equals(".") || clean.equals("..") ? clean.replace('.', '_') : clean;
    }
}
