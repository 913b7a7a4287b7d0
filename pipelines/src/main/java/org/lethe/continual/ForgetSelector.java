package org.lethe.continual;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.lethe.data.IngestedDataset;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;

/**
 * What one unlearning request asks to forget, as text: {@code split:NAME} (an ingested split),
 * {@code authors:ID,ID,...} (every sample of those author ids, TOFU-style entities) or {@code
 * samples:ID,ID,...} (sample ids). The text form is what the {@code requests} table stores.
 */
public record ForgetSelector(Kind kind, List<String> values) {

    /** The kinds of selection. */
    public enum Kind { SPLIT, AUTHORS, SAMPLES }

    public ForgetSelector {
        values = List.copyOf(values);
        if (values.isEmpty()) {
            throw new IllegalArgumentException("forget selector " + kind.name().toLowerCase(Locale.ROOT)
                    + ": names nothing");
        }
        if (kind == Kind.SPLIT && values.size() != 1) {
            throw new IllegalArgumentException("forget selector split: exactly one split, got " + values);
        }
        for (String v : values) {
            if (v.isBlank()) {
                throw new IllegalArgumentException("forget selector " + kind.name().toLowerCase(Locale.ROOT)
                        + ": an empty entry in " + values);
            }
            if (kind == Kind.AUTHORS && !v.matches("[0-9]+")) {
                throw new IllegalArgumentException("forget selector authors: '" + v
                        + "' is not an author id (a whole number >= 0)");
            }
        }
    }

    /** Parses {@code split:NAME}, {@code authors:1,2} or {@code samples:a,b}. */
    public static ForgetSelector parse(String text) {
        int colon = text == null ? -1 : text.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("--forget: expected split:NAME, authors:ID,ID,... or samples:ID,ID,...,"
                    + " got '" + text + "'");
        }
        String kind = text.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        List<String> values = new ArrayList<>();
        for (String v : text.substring(colon + 1).split(",", -1)) {
            values.add(v.strip());
        }
        return switch (kind) {
            case "split" -> new ForgetSelector(Kind.SPLIT, values);
            case "authors", "author" -> new ForgetSelector(Kind.AUTHORS, values);
            case "samples", "sample" -> new ForgetSelector(Kind.SAMPLES, values);
            default -> throw new IllegalArgumentException("--forget: unknown selector kind '" + kind
                    + "' (expected split, authors or samples)");
        };
    }

    /** The canonical text form, which {@link #parse} reads back. */
    public String text() {
        return kind.name().toLowerCase(Locale.ROOT) + ":" + String.join(",", values);
    }

    /** The selected sample ids (one column, {@code sample_id}, distinct) of an ingested dataset. */
    public Dataset<Row> ids(IngestedDataset data) {
        return switch (kind) {
            case SPLIT -> data.ids(values.get(0));
            case AUTHORS -> data.examples()
                    .filter(col("author_id").isin(values.stream().map(Long::parseLong).toArray()))
                    .select("sample_id").distinct();
            case SAMPLES -> data.examples().filter(col("sample_id").isin(values.toArray())).select("sample_id")
                    .distinct();
        };
    }
}
