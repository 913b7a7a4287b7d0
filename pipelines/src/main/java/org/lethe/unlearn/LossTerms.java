package org.lethe.unlearn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;

/** The registry of forget and retain loss terms by name, with their parameters and defaults. */
public final class LossTerms {

    /** Parameters of one term: the given values over the registered defaults. */
    private record Params(Map<String, Double> values) {
        double get(String key) {
            return values.get(key);
        }

        Positions positions() {
            double v = get("all_positions");
            if (v != 0 && v != 1) {
                throw new IllegalArgumentException("parameter all_positions must be 0 (answer) or 1 (all), got " + v);
            }
            return v == 1 ? Positions.ALL : Positions.ANSWER;
        }
    }

    private record Spec(Map<String, Double> defaults, Function<Params, LossTerm> factory) {}

    private static final Map<String, Spec> FORGET = new LinkedHashMap<>();
    private static final Map<String, Spec> RETAIN = new LinkedHashMap<>();

    static {
        FORGET.put("ga", spec(Map.of(), p -> new GradientAscent()));
        FORGET.put("npo", spec(Map.of("beta", 0.1), p -> new Npo(p.get("beta"))));
        FORGET.put("simnpo", spec(Map.of("beta", 4.5, "delta", 0.0), p -> new SimNpo(p.get("beta"), p.get("delta"))));
        FORGET.put("dpo", spec(Map.of("beta", 0.1), p -> new Dpo(p.get("beta"))));
        FORGET.put("idk", spec(Map.of(), p -> new CrossEntropy("idk", Alternative.REFUSAL)));
        FORGET.put("me", spec(Map.of("all_positions", 0.0), p -> new MaximumEntropy(p.positions())));
        FORGET.put("rmu", spec(Map.of("steering_coeff", 2.0, "seed", 0.0),
                p -> new Rmu(p.get("steering_coeff"), (long) p.get("seed"))));
        FORGET.put("undial", spec(Map.of("beta", 10.0), p -> new Undial(p.get("beta"))));
        FORGET.put("wga", spec(Map.of("beta", 1.0), p -> new Wga(p.get("beta"))));
        FORGET.put("satimp", spec(Map.of("beta1", 5.0, "beta2", 1.0), p -> new SatImp(p.get("beta1"), p.get("beta2"))));
        FORGET.put("ce_u", spec(Map.of(), p -> new CeU()));

        RETAIN.put("none", spec(Map.of(), p -> new NoRetain()));
        RETAIN.put("nll", spec(Map.of(), p -> new CrossEntropy("nll", Alternative.NONE)));
        RETAIN.put("kl", spec(Map.of("all_positions", 0.0), p -> new Kl(p.positions())));
        RETAIN.put("ap", spec(Map.of("beta", 0.1), p -> new Ap(p.get("beta"))));
        RETAIN.put("embed_diff", spec(Map.of(), p -> new EmbedDiff()));
        RETAIN.put("mismatch", spec(Map.of(), p -> new CrossEntropy("mismatch", Alternative.MISMATCHED_ANSWER)));
    }

    private LossTerms() {}

    private static Spec spec(Map<String, Double> defaults, Function<Params, LossTerm> factory) {
        return new Spec(defaults, factory);
    }

    /** Forget term names in registration order. */
    public static List<String> forgetNames() {
        return new ArrayList<>(FORGET.keySet());
    }

    /** Retain term names in registration order. */
    public static List<String> retainNames() {
        return new ArrayList<>(RETAIN.keySet());
    }

    /** The registered parameters of a forget term and their defaults. */
    public static Map<String, Double> forgetDefaults(String name) {
        return lookup("forget", FORGET, name).defaults();
    }

    /** The registered parameters of a retain term and their defaults. */
    public static Map<String, Double> retainDefaults(String name) {
        return lookup("retain", RETAIN, name).defaults();
    }

    /** A forget term by name; {@code params} override its defaults and may not name unknown parameters. */
    public static LossTerm forget(String name, Map<String, Double> params) {
        return build("forget", FORGET, name, params);
    }

    /** A retain term by name; {@code params} override its defaults and may not name unknown parameters. */
    public static LossTerm retain(String name, Map<String, Double> params) {
        return build("retain", RETAIN, name, params);
    }

    private static Spec lookup(String kind, Map<String, Spec> table, String name) {
        Spec spec = table.get(name);
        if (spec == null) {
            throw new IllegalArgumentException("unknown " + kind + " loss term '" + name + "'; known: "
                    + String.join(", ", table.keySet()));
        }
        return spec;
    }

    private static LossTerm build(String kind, Map<String, Spec> table, String name, Map<String, Double> params) {
        Spec spec = lookup(kind, table, name);
        Map<String, Double> values = new LinkedHashMap<>(spec.defaults());
        for (Map.Entry<String, Double> e : params.entrySet()) {
            if (!spec.defaults().containsKey(e.getKey())) {
                throw new IllegalArgumentException(kind + " loss term '" + name + "': unknown parameter '"
                        + e.getKey() + "'; known: " + (spec.defaults().isEmpty() ? "(none)"
                        : String.join(", ", new TreeSet<>(spec.defaults().keySet()))));
            }
            if (e.getValue() == null || !Double.isFinite(e.getValue())) {
                throw new IllegalArgumentException(kind + " loss term '" + name + "': parameter '" + e.getKey()
                        + "' must be a finite number, got " + e.getValue());
            }
            values.put(e.getKey(), e.getValue());
        }
        try {
            return spec.factory().apply(new Params(values));
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException(kind + " loss term '" + name + "': " + ex.getMessage(), ex);
        }
    }
}
