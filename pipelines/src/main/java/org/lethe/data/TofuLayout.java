package org.lethe.data;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The file names of the TOFU layout as published, and how its splits relate: forget01 in forget05
 * in forget10, each paired with the retain split of the remaining percentage, holdout beside them.
 * One addition: {@code general.jsonl}, the world knowledge Lethe's generated benchmark trains on
 * beside {@code full} (TOFU has no such file).
 */
public final class TofuLayout {

    /** What a recognised file holds. */
    public enum Kind {
        /** Question/answer rows: every row is one membership of its split. */
        QA,
        /** Plain-text refusal templates, one per line (TOFU's idontknow.jsonl despite its name). */
        REFUSALS
    }

    /** A recognised file: its split (the file stem) and kind. */
    public record Entry(String split, Kind kind) {}

    private static final Pattern NAME = Pattern.compile(
            "(full|general|forget(01|05|10)|retain(90|95|99)|holdout(01|05|10)|forget(01|05|10)_perturbed"
                    + "|retain_perturbed|real_authors(_perturbed)?|world_facts(_perturbed)?)\\.(jsonl|json)");
    private static final Pattern FORGET = Pattern.compile("forget(\\d\\d)");

    private TofuLayout() {}

    /** The entry for a file name, or empty when TOFU does not define it (the file is skipped). */
    public static Optional<Entry> recognise(String fileName) {
        if (fileName.equals("idontknow.jsonl") || fileName.equals("idontknow.txt")) {
            return Optional.of(new Entry("idontknow", Kind.REFUSALS));
        }
        Matcher m = NAME.matcher(fileName);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new Entry(m.group(1), Kind.QA));
    }

    /** The retain split paired with a forget split (forget10 -> retain90), if it is one. */
    public static Optional<String> pairedRetain(String split) {
        Matcher m = FORGET.matcher(split);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(String.format("retain%02d", 100 - Integer.parseInt(m.group(1))));
    }

    /** The forget splits in nesting order. */
    public static List<String> forgetSplits() {
        return List.of("forget01", "forget05", "forget10");
    }

    /** Whether a split's samples are held-out non-members (never trained on). */
    public static boolean isHoldout(String split) {
        return split.startsWith("holdout");
    }

    /** Whether a split belongs to the training set ({@code full} or its forget/retain parts). */
    public static boolean isTraining(String split) {
        return split.equals("full") || split.equals("general") || split.matches("(forget|retain)\\d\\d");
    }
}
