package org.lethe.unlearn;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;

import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Unlearning methods as named presets of loss terms, read once from the {@code methods.conf}
 * resource next to this class: a forget term, weighted retain terms and the method's default
 * settings; combinations are data, not new classes.
 */
public final class Methods {

    /** One preset. {@code defaults} are {@code lethe.unlearn.*} values the method implies. */
    public record Method(String name, String description, WeightedTerm forget, List<WeightedTerm> retain,
            Map<String, Object> defaults) {

        public Method {
            retain = List.copyOf(retain);
            // Insertion order, so line() lists the settings the same way every time.
            defaults = Collections.unmodifiableMap(new LinkedHashMap<>(defaults));
        }

        /** The forget term's registry name. */
        public String forgetTerm() {
            return forget.term();
        }

        /** The forget term's coefficient. */
        public double forgetCoeff() {
            return forget.coeff();
        }

        /** {@code name  description  forget=... retain=... defaults...}: one line for `lethe methods`. */
        public String line() {
            String retainText = retain.isEmpty() ? "none"
                    : retain.stream().map(r -> r.coeff() + "*" + r.term()).collect(Collectors.joining("+"));
            String settings = defaults.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining(" "));
            return String.format("%-12s %s [forget=%s*%s retain=%s%s]", name, description, forgetCoeff(),
                    forgetTerm(), retainText, settings.isEmpty() ? "" : " " + settings);
        }
    }

    /** The preset file, relative to this class's package. */
    static final String RESOURCE = "methods.conf";

    private static final Set<String> FIELDS = Set.of("name", "description", "forget", "retain", "defaults");
    private static final Set<String> TERM_FIELDS = Set.of("term", "coeff");
    /** The {@code lethe.unlearn.*} keys a preset may default; each is a positive number. */
    private static final List<String> DEFAULT_KEYS = List.of("lr");

    private static final Map<String, Method> METHODS = index(load());

    private Methods() {}

    /** The preset called {@code name}, or an error listing the known ones. */
    public static Method get(String name) {
        Method m = METHODS.get(name);
        if (m == null) {
            throw new IllegalArgumentException("unknown unlearning method '" + name + "'; known: "
                    + String.join(", ", METHODS.keySet()));
        }
        return m;
    }

    /** Every preset, in the file's order. */
    public static List<Method> all() {
        return List.copyOf(METHODS.values());
    }

    private static List<Method> load() {
        // One file, this class's own: parseResources would merge every copy on the classpath.
        URL url = Methods.class.getResource(RESOURCE);
        if (url == null) {
            throw new IllegalStateException(RESOURCE + " is missing next to " + Methods.class.getName());
        }
        Config config;
        try {
            config = ConfigFactory.parseURL(url, ConfigParseOptions.defaults().setAllowMissing(false)).resolve();
        } catch (ConfigException e) {
            throw new IllegalStateException(RESOURCE + ": " + e.getMessage(), e);
        }
        return parse(config);
    }

    private static Map<String, Method> index(List<Method> methods) {
        Map<String, Method> byName = new LinkedHashMap<>();
        methods.forEach(m -> byName.put(m.name(), m));
        return Collections.unmodifiableMap(byName);
    }

    /**
     * The presets of a parsed {@code methods.conf}, checked: every term is registered, every
     * coefficient finite and >= 0, descriptions non-empty, defaults known, names unique. Errors
     * name the preset and the field.
     */
    static List<Method> parse(Config config) {
        List<? extends ConfigValue> entries = read(RESOURCE, () -> config.getList("methods"));
        if (entries.isEmpty()) {
            throw new IllegalArgumentException(RESOURCE + ": methods is empty");
        }
        List<Method> out = new ArrayList<>();
        Map<String, Integer> seen = new LinkedHashMap<>();
        for (int i = 0; i < entries.size(); i++) {
            Method m = method(i, entries.get(i));
            Integer first = seen.putIfAbsent(m.name(), i);
            if (first != null) {
                throw new IllegalArgumentException(RESOURCE + ": method '" + m.name() + "' appears twice (entries "
                        + (first + 1) + " and " + (i + 1) + ")");
            }
            out.add(m);
        }
        return out;
    }

    private static Method method(int index, ConfigValue value) {
        String where = RESOURCE + ": methods entry " + (index + 1);
        ConfigObject object = object(where, "", value);
        Config c = object.toConfig();
        String name = read(where, () -> c.getString("name"));
        if (name.isBlank()) {
            throw new IllegalArgumentException(where + ": name is empty");
        }
        String in = RESOURCE + ": method '" + name + "'";
        knownFields(in, "", object, FIELDS);
        String description = read(in, () -> c.getString("description"));
        if (description.isBlank()) {
            throw new IllegalArgumentException(in + ": description is empty");
        }
        WeightedTerm forget = term(in, "forget", read(in, () -> c.getValue("forget")), "forget",
                LossTerms.forgetNames());
        List<WeightedTerm> retain = new ArrayList<>();
        List<? extends ConfigValue> retainValues = read(in, () -> c.getList("retain"));
        for (int r = 0; r < retainValues.size(); r++) {
            WeightedTerm t = term(in, "retain[" + r + "]", retainValues.get(r), "retain", LossTerms.retainNames());
            // The job labels its loss parts by term name, so a term twice would be two parts with one label.
            if (retain.stream().anyMatch(w -> w.term().equals(t.term()))) {
                throw new IllegalArgumentException(in + ": retain[" + r + "].term '" + t.term() + "' appears twice");
            }
            retain.add(t);
        }
        Map<String, Object> defaults = new LinkedHashMap<>();
        if (c.hasPath("defaults")) {
            ConfigObject d = object(in, "defaults", read(in, () -> c.getValue("defaults")));
            knownFields(in, "defaults.", d, Set.copyOf(DEFAULT_KEYS));
            for (String key : DEFAULT_KEYS) {
                if (d.containsKey(key)) {
                    double v = read(in, () -> d.toConfig().getDouble(key));
                    if (!Double.isFinite(v) || v <= 0) {
                        throw new IllegalArgumentException(in + ": defaults." + key + " must be a positive number, got "
                                + v);
                    }
                    defaults.put(key, v);
                }
            }
        }
        return new Method(name, description, forget, retain, defaults);
    }

    /** A {@code {term = ..., coeff = ...}} object whose term is in {@code known}. */
    private static WeightedTerm term(String in, String field, ConfigValue value, String kind, List<String> known) {
        ConfigObject object = object(in, field, value);
        knownFields(in, field + ".", object, TERM_FIELDS);
        Config c = object.toConfig();
        String term = read(in + ": " + field, () -> c.getString("term"));
        if (!known.contains(term)) {
            throw new IllegalArgumentException(in + ": " + field + ".term '" + term + "' is not a " + kind
                    + " loss term; known: " + String.join(", ", known));
        }
        double coeff = read(in + ": " + field, () -> c.getDouble("coeff"));
        if (!Double.isFinite(coeff) || coeff < 0) {
            throw new IllegalArgumentException(in + ": " + field + ".coeff must be a finite number >= 0, got " + coeff);
        }
        return new WeightedTerm(term, coeff);
    }

    private static ConfigObject object(String in, String field, ConfigValue value) {
        if (value.valueType() != ConfigValueType.OBJECT) {
            throw new IllegalArgumentException(in + ": " + (field.isEmpty() ? "" : field + " ") + "must be an object,"
                    + " got " + value.valueType().name().toLowerCase(java.util.Locale.ROOT) + " ("
                    + value.origin().description() + ")");
        }
        return (ConfigObject) value;
    }

    private static void knownFields(String in, String prefix, ConfigObject object, Set<String> known) {
        for (String key : object.keySet()) {
            if (!known.contains(key)) {
                throw new IllegalArgumentException(in + ": unknown field '" + prefix + key + "'; known: "
                        + known.stream().sorted().collect(Collectors.joining(", ")));
            }
        }
    }

    /** A config read, its error (missing key, wrong type) prefixed with where it was read. */
    private static <T> T read(String in, Supplier<T> get) {
        try {
            return get.get();
        } catch (ConfigException e) {
            throw new IllegalArgumentException(in + ": " + e.getMessage(), e);
        }
    }
}
