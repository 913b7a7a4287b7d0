package org.lethe.unlearn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Unlearning methods as named presets of loss terms (registered explicitly, in one place): a
 * forget term, weighted retain terms, their coefficients and the method's default settings.
 * Combinations are configurations, not new classes.
 */
public final class Methods {

    /** A retain term of a preset with its coefficient. */
    public record RetainPart(String term, double coeff) {}

    /** One preset. {@code defaults} are {@code lethe.unlearn.*} values the method implies. */
    public record Method(String name, String description, String forgetTerm, double forgetCoeff,
            List<RetainPart> retain, Map<String, Object> defaults) {

        /** The objective with the registry's default term parameters. */
        public Objective objective() {
            List<Objective.Weighted> parts = new ArrayList<>();
            for (RetainPart r : retain) {
                parts.add(new Objective.Weighted(LossTerms.retain(r.term(), Map.of()), r.coeff()));
            }
            return new Objective(LossTerms.forget(forgetTerm, Map.of()), forgetCoeff, parts);
        }

        /** {@code name  description  forget=... retain=... defaults...}: one line for `lethe methods`. */
        public String line() {
            String retainText = retain.isEmpty() ? "none"
                    : retain.stream().map(r -> r.coeff() + "*" + r.term()).collect(Collectors.joining("+"));
            String settings = defaults.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining(" "));
            return String.format("%-12s %s [forget=%s*%s retain=%s%s]", name, description, forgetCoeff,
                    forgetTerm, retainText, settings.isEmpty() ? "" : " " + settings);
        }
    }

    private static final Map<String, Method> METHODS = new LinkedHashMap<>();

    static {
        add("grad_ascent", "gradient ascent on the forget set (no retain term)", "ga", 1, List.of(), Map.of());
        add("grad_diff", "gradient ascent on forget, descent on retain", "ga", 1, retain("nll", 1), Map.of());
        add("kl", "gradient ascent on forget, KL to the ref_model on retain (TOFU's KL)", "ga", 1,
                retain("kl", 1), Map.of());
        add("npo", "negative preference optimization against the ref_model, retain NLL", "npo", 1,
                retain("nll", 1), Map.of());
        add("npo+kl", "NPO with a KL-to-ref_model retain term", "npo", 1, retain("kl", 1), Map.of());
        add("simnpo", "reference-free NPO on length-normalized NLL, retain NLL", "simnpo", 0.125,
                retain("nll", 1), Map.of());
        add("dpo", "DPO preferring a refusal over the forget answer, retain NLL", "dpo", 1, retain("nll", 1),
                Map.of());
        add("idk", "fine-tune forget questions towards refusals, retain NLL", "idk", 1, retain("nll", 1),
                Map.of());
        add("me+gd", "maximizing entropy on forget (closer-look), retain NLL", "me", 0.1, retain("nll", 1),
                Map.of());
        add("idk+ap", "refusals on forget with answer preservation on retain (closer-look)", "idk", 1,
                retain("ap", 1), Map.of());
        add("rmu", "steer a layer's forget activations to a random direction, keep retain activations",
                "rmu", 1, retain("embed_diff", 1), Map.of());
        add("undial", "self-distillation towards ref_model logits with the answer token suppressed", "undial",
                1, List.of(), Map.of("lr", 1e-4));
        add("wga", "weighted gradient ascent (confidence-weighted), retain NLL", "wga", 1, retain("nll", 1),
                Map.of());
        add("satimp", "saturation-importance weighted ascent, retain NLL", "satimp", 1, retain("nll", 1),
                Map.of());
        add("ce_u", "cross-entropy against the distribution without the true token, retain NLL", "ce_u", 1,
                retain("nll", 1), Map.of());
        add("llmu", "gradient ascent with mismatched-answer and KL retain terms", "ga", 1,
                List.of(new RetainPart("mismatch", 1), new RetainPart("kl", 1)), Map.of());
    }

    private Methods() {}

    private static List<RetainPart> retain(String term, double coeff) {
        return List.of(new RetainPart(term, coeff));
    }

    private static void add(String name, String description, String forget, double forgetCoeff,
            List<RetainPart> retain, Map<String, Object> defaults) {
        METHODS.put(name, new Method(name, description, forget, forgetCoeff, retain, defaults));
    }

    /** The preset called {@code name}, or an error listing the known ones. */
    public static Method get(String name) {
        Method m = METHODS.get(name);
        if (m == null) {
            throw new IllegalArgumentException("unknown unlearning method '" + name + "'; known: "
                    + String.join(", ", METHODS.keySet()));
        }
        return m;
    }

    /** Every preset, in registration order. */
    public static List<Method> all() {
        return Collections.unmodifiableList(new ArrayList<>(METHODS.values()));
    }
}
