package org.lethe.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Lethe's resolved and validated configuration: {@code reference.conf}, then an experiment file,
 * then {@code --set key=value} overrides.
 *
 * <p>Every key must exist in {@code reference.conf} and have the type of its default there (a
 * default of {@code null} accepts any value). The resolved values are kept as a sorted JSON tree,
 * which is both what {@link #toJson()} prints and what {@link #sha256()} fingerprints.
 */
public final class LetheConfig {
    /** The root object every key lives under. */
    public static final String ROOT = "lethe";

    private static final Set<String> DTYPES = Set.of("float32", "float16");
    private static final Pattern DEVICE = Pattern.compile("[a-z]+(:[0-9]+)?");
    // Sorted map keys inside list values too, so that equal configs give equal JSON and fingerprints.
    private static final ObjectMapper JSON =
            new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private final ObjectNode tree;
    private final String json;
    private final String sha256;

    private LetheConfig(ObjectNode tree) {
        this.tree = tree;
        try {
            this.json = JSON.writeValueAsString(tree);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render the config as JSON", e);
        }
        this.sha256 = sha256Hex(json);
    }

    /** The defaults of {@code reference.conf}, with nothing overridden. */
    public static LetheConfig defaults() {
        return load(Optional.empty(), List.of());
    }

    /**
     * Loads reference.conf, then {@code confFile} if given, then each {@code key=value} of {@code
     * sets} in order (later wins); keys may be given with or without the {@code lethe.} prefix.
     *
     * @throws LetheConfigException naming the key, its source and what was expected
     */
    public static LetheConfig load(Optional<Path> confFile, List<String> sets) {
        Config merged = environmentDefaults(System.getenv());
        if (confFile.isPresent()) {
            merged = parseFile(confFile.get()).withFallback(merged);
        }
        for (String set : sets) {
            merged = parseSet(set).withFallback(merged);
        }
        return validated(merged);
    }

    /** The variable with which launchers and users opt out of pinned numerics. */
    public static final String REPRODUCIBLE_VARIABLE = "LETHE_REPRODUCIBLE";

    /**
     * The defaults the environment sets below any file or {@code --set}: {@code LETHE_REPRODUCIBLE=0}
     * (with which the launchers skip the numeric pins) makes {@code lethe.model.reproducible = false}
     * and {@code lethe.model.threads = 0} (all cores) the defaults; unset or {@code 1} changes nothing.
     */
    static Config environmentDefaults(java.util.Map<String, String> env) {
        String value = env.get(REPRODUCIBLE_VARIABLE);
        if (value == null || value.equals("1")) {
            return ConfigFactory.empty();
        }
        if (!value.equals("0")) {
            throw new LetheConfigException(REPRODUCIBLE_VARIABLE + ": expected 0 or 1 but got '" + value + "'");
        }
        return ConfigFactory.parseMap(java.util.Map.of(ROOT + ".model.reproducible", false, ROOT + ".model.threads", 0),
                "environment " + REPRODUCIBLE_VARIABLE + "=0");
    }

    /** {@code overrides} on top of reference.conf, resolved, typed and checked. */
    private static LetheConfig validated(Config overrides) {
        Config reference = reference();
        Config merged = overrides.withFallback(reference);
        try {
            // Substitutions refer to config keys only: never to the environment of whichever
            // machine happens to parse the text (a request's overrides are parsed again later).
            merged = merged.resolve(com.typesafe.config.ConfigResolveOptions.defaults().setUseSystemEnvironment(false));
        } catch (ConfigException e) {
            throw new LetheConfigException("cannot resolve the config: " + e.getMessage()
                    + (e instanceof ConfigException.UnresolvedSubstitution
                            ? " (substitutions refer to config keys; environment variables are not read)" : ""), e);
        }

        List<String> problems = new ArrayList<>();
        ObjectNode tree = JSON.createObjectNode();
        convertObject(reference.root(), merged.root(), List.of(), tree, knownPaths(reference), problems);
        if (problems.isEmpty()) {
            LetheConfig config = new LetheConfig(tree);
            config.checkValues(problems);
            if (problems.isEmpty()) {
                return config;
            }
        }
        throw new LetheConfigException(String.join("; ", problems));
    }

    /**
     * This config with typed {@code values} ({@code key -> String, Number, Boolean or List}, keys
     * with or without the {@code lethe.} prefix) set on top, checked as {@code --set} values are:
     * how a request derives the request of a job it runs (a demo's fine-tuning, a relearning
     * attack's) without writing config text. Equal values give equal fingerprints whichever way
     * they were set.
     */
    public LetheConfig with(java.util.Map<String, ?> values) {
        Config merged = ConfigFactory.parseString(json, ConfigParseOptions.defaults().setOriginDescription("derived"));
        for (java.util.Map.Entry<String, ?> e : values.entrySet()) {
            String path = ConfigUtil.joinPath(qualifiedPath(e.getKey()));
            merged = ConfigFactory.empty().withValue(path, ConfigValueFactory.fromAnyRef(e.getValue(),
                    "derived " + e.getKey())).withFallback(merged);
        }
        return validated(merged);
    }

    /**
     * This config with {@code sets} ({@code key=value}, as {@code --set}) applied on top: how a job
     * that runs other jobs (e.g. the relearning attack: finetune, then evaluate) derives their
     * configs from its own.
     */
    public LetheConfig with(List<String> sets) {
        Config merged = ConfigFactory.parseString(json, ConfigParseOptions.defaults().setOriginDescription("derived"));
        for (String set : sets) {
            merged = parseSet(set).withFallback(merged);
        }
        return validated(merged);
    }

    /** The resolved config as one compact JSON object with sorted keys, rooted at {@code lethe}. */
    public String toJson() {
        return json;
    }

    /** SHA-256 (lowercase hex) of {@link #toJson()}: equal configs have equal fingerprints. */
    public String sha256() {
        return sha256;
    }

    public String modelDevice() {
        return getString("model.device");
    }

    public String modelDtype() {
        return getString("model.dtype");
    }

    /** Torch intra-op threads; 0 means the engine's default. */
    public int modelThreads() {
        return getInt("model.threads");
    }

    /** Whether jobs hold every computation to the pinned numeric environment (NumericGuard). */
    public boolean modelReproducible() {
        return getBoolean("model.reproducible");
    }

    public int generateMaxNewTokens() {
        return getInt("generate.max_new_tokens");
    }

    public String sparkAppName() {
        return getString("spark.app_name");
    }

    /** The table root, or empty when the config leaves it to a command-line option. */
    public Optional<String> storeRoot() {
        String root = getString("store.root");
        return root.isBlank() ? Optional.empty() : Optional.of(root);
    }

    /** Whether {@code key} (a value or a section) exists. */
    public boolean has(String key) {
        JsonNode node = tree;
        for (String part : qualifiedPath(key)) {
            node = node.get(part);
            if (node == null) {
                return false;
            }
        }
        return true;
    }

    /** The string at {@code key} (with or without the {@code lethe.} prefix). */
    public String getString(String key) {
        JsonNode node = node(key);
        if (!node.isTextual()) {
            throw wrongType(key, "a string", node);
        }
        return node.textValue();
    }

    public int getInt(String key) {
        JsonNode node = node(key);
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw wrongType(key, "a 32-bit integer", node);
        }
        return node.intValue();
    }

    public long getLong(String key) {
        JsonNode node = node(key);
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            throw wrongType(key, "a 64-bit integer", node);
        }
        return node.longValue();
    }

    public double getDouble(String key) {
        JsonNode node = node(key);
        if (!node.isNumber()) {
            throw wrongType(key, "a number", node);
        }
        return node.doubleValue();
    }

    public boolean getBoolean(String key) {
        JsonNode node = node(key);
        if (!node.isBoolean()) {
            throw wrongType(key, "a boolean", node);
        }
        return node.booleanValue();
    }

    /** The value at {@code key} as JSON text (a string quoted, a list in brackets). */
    public String jsonValue(String key) {
        try {
            return JSON.writeValueAsString(node(key));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render " + key + " as JSON", e);
        }
    }

    /** The list at {@code key}, each scalar element as its text. */
    public List<String> getStringList(String key) {
        JsonNode node = node(key);
        if (!node.isArray()) {
            throw wrongType(key, "a list", node);
        }
        List<String> values = new ArrayList<>();
        for (JsonNode element : node) {
            if (!element.isValueNode() || element.isNull()) {
                throw wrongType(key, "a list of strings", node);
            }
            values.add(element.asText());
        }
        return values;
    }

    @Override
    public String toString() {
        return json;
    }

    /** Equal resolved values, equal configs (so requests holding them compare by value). */
    @Override
    public boolean equals(Object other) {
        return other instanceof LetheConfig c && c.json.equals(json);
    }

    @Override
    public int hashCode() {
        return json.hashCode();
    }

    // Value checks beyond types; they run once at load so that jobs fail before Spark starts.
    private void checkValues(List<String> problems) {
        String dtype = modelDtype();
        if (!DTYPES.contains(dtype)) {
            problems.add("lethe.model.dtype: expected one of " + new TreeSet<>(DTYPES) + " but got '" + dtype + "'");
        }
        String device = modelDevice();
        if (!DEVICE.matcher(device).matches()) {
            problems.add("lethe.model.device: expected a DJL device name such as cpu, gpu or gpu:0 but got '" + device + "'");
        }
        checkAtLeast("model.threads", 0, problems);
        if (problems.isEmpty() && modelReproducible() && modelThreads() == 0) {
            problems.add("lethe.model.threads = 0 takes each machine's core count, so results would depend on the"
                    + " machine: with lethe.model.reproducible = true set a count (the default is 2)");
        }
        checkAtLeast("generate.max_new_tokens", 1, problems);
        if (sparkAppName().isBlank()) {
            problems.add("lethe.spark.app_name: expected a non-empty name");
        }
    }

    private void checkAtLeast(String key, int min, List<String> problems) {
        try {
            int value = getInt(key);
            if (value < min) {
                problems.add(ROOT + "." + key + ": expected an integer >= " + min + " but got " + value);
            }
        } catch (LetheConfigException e) {
            problems.add(e.getMessage());
        }
    }

    private JsonNode node(String key) {
        JsonNode node = tree;
        for (String part : qualifiedPath(key)) {
            node = node.get(part);
            if (node == null) {
                throw new LetheConfigException("unknown config key '" + key + "'");
            }
        }
        return node;
    }

    private static LetheConfigException wrongType(String key, String expected, JsonNode actual) {
        return new LetheConfigException("config key '" + key + "' is not " + expected + ": " + actual);
    }

    /** The path elements of {@code key}, with the {@code lethe} root prepended when missing. */
    private static List<String> qualifiedPath(String key) {
        List<String> parts = new ArrayList<>(ConfigUtil.splitPath(key));
        if (!parts.get(0).equals(ROOT)) {
            parts.add(0, ROOT);
        }
        return parts;
    }

    private static Config reference() {
        // Every reference.conf on the classpath is merged (libraries ship their own); keep only ours.
        Config all = ConfigFactory.parseResources(LetheConfig.class.getClassLoader(), "reference.conf");
        if (!all.hasPath(ROOT)) {
            throw new IllegalStateException("reference.conf with a '" + ROOT + "' section is not on the classpath");
        }
        return all.withOnlyPath(ROOT).resolve();
    }

    private static Config parseFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new LetheConfigException("config file " + file + " (--conf) does not exist or is not a file");
        }
        try {
            return ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false)
                    .setIncluder(new NoIncludes(file.toString())));
        } catch (ConfigException e) {
            throw new LetheConfigException("cannot parse config file " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * One {@code --set key=value} as a config. The value is a HOCON value (number, boolean, list,
     * quoted string...), except that text HOCON would read as an unquoted string is taken verbatim:
     * HOCON would drop everything after {@code //} in {@code s3a://bucket/x} and reject the colon in
     * {@code gpu:0}.
     */
    private static Config parseSet(String set) {
        int eq = set.indexOf('=');
        if (eq <= 0) {
            throw new LetheConfigException("malformed --set '" + set + "': expected key=value, e.g. --set model.threads=2");
        }
        String key = set.substring(0, eq).trim();
        String raw = set.substring(eq + 1).trim();
        List<String> path;
        try {
            path = qualifiedPath(key);
        } catch (ConfigException e) {
            throw new LetheConfigException("malformed --set '" + set + "': '" + key + "' is not a config key", e);
        }
        String origin = "--set " + set;
        ConfigValue value = ConfigValueFactory.fromAnyRef(raw, origin);
        try {
            Config parsed = ConfigFactory.parseString("v = " + raw, ConfigParseOptions.defaults()
                    .setOriginDescription(origin).setIncluder(new NoIncludes(origin)));
            ConfigValue hocon = parsed.root().get("v");
            boolean unquotedString = parsed.isResolved() && hocon != null
                    && hocon.valueType() == ConfigValueType.STRING && !raw.startsWith("\"");
            if (hocon != null && !unquotedString) {
                value = hocon;
            }
        } catch (ConfigException.Parse e) {
            // Not HOCON (e.g. "gpu:0"): the verbatim string set above.
        }
        return ConfigFactory.empty().withValue(ConfigUtil.joinPath(path), value);
    }

    /**
     * Converts {@code actual} to typed JSON under {@code out}, checking each key against {@code
     * reference}; problems are collected so that one error lists them all.
     */
    private static void convertObject(ConfigObject reference, ConfigObject actual, List<String> parent,
            ObjectNode out, List<String> known, List<String> problems) {
        for (String key : new TreeSet<>(actual.keySet())) {
            List<String> path = new ArrayList<>(parent);
            path.add(key);
            String name = ConfigUtil.joinPath(path);
            ConfigValue value = actual.get(key);
            ConfigValue expected = reference.get(key);
            if (expected == null) {
                problems.add("unknown key '" + name + "' (from " + source(value) + "); did you mean '" + nearest(name, known) + "'?");
            } else if (expected.valueType() == ConfigValueType.OBJECT) {
                if (value.valueType() == ConfigValueType.OBJECT) {
                    convertObject((ConfigObject) expected, (ConfigObject) value, path, out.putObject(key), known, problems);
                } else {
                    problems.add(typeProblem(name, "an object", value));
                }
            } else {
                JsonNode converted = convertLeaf(expected, value);
                if (converted == null) {
                    problems.add(typeProblem(name, describe(expected), value));
                } else {
                    out.set(key, converted);
                }
            }
        }
    }

    /** {@code value} as JSON of the type of {@code expected}, or null when it has no such reading. */
    private static JsonNode convertLeaf(ConfigValue expected, ConfigValue value) {
        ConfigValueType type = value.valueType();
        switch (expected.valueType()) {
            case NULL:
                return type == ConfigValueType.NULL ? JSON.getNodeFactory().nullNode() : JSON.valueToTree(value.unwrapped());
            case STRING:
                if (type == ConfigValueType.STRING) {
                    return JSON.getNodeFactory().textNode((String) value.unwrapped());
                }
                return type == ConfigValueType.NUMBER || type == ConfigValueType.BOOLEAN
                        ? JSON.getNodeFactory().textNode(value.render(ConfigRenderOptions.concise()))
                        : null;
            case BOOLEAN:
                if (type == ConfigValueType.BOOLEAN) {
                    return JSON.getNodeFactory().booleanNode((Boolean) value.unwrapped());
                }
                if (type == ConfigValueType.STRING) {
                    // The spellings Lightbend config's getBoolean accepts.
                    switch (((String) value.unwrapped()).toLowerCase(Locale.ROOT)) {
                        case "true": case "yes": case "on": return JSON.getNodeFactory().booleanNode(true);
                        case "false": case "no": case "off": return JSON.getNodeFactory().booleanNode(false);
                        default: return null;
                    }
                }
                return null;
            case NUMBER:
                return number(isIntegral(expected), value);
            case LIST:
                return type == ConfigValueType.LIST ? JSON.valueToTree(value.unwrapped()) : null;
            default:
                return null;
        }
    }

    private static JsonNode number(boolean integral, ConfigValue value) {
        BigDecimal number;
        try {
            if (value.valueType() == ConfigValueType.NUMBER) {
                number = new BigDecimal(value.unwrapped().toString());
            } else if (value.valueType() == ConfigValueType.STRING) {
                number = new BigDecimal(((String) value.unwrapped()).trim());
            } else {
                return null;
            }
        } catch (NumberFormatException e) {
            return null;
        }
        if (!integral) {
            return JSON.getNodeFactory().numberNode(number.doubleValue());
        }
        try {
            return JSON.getNodeFactory().numberNode(number.longValueExact());
        } catch (ArithmeticException e) {
            return null; // a fraction, or out of range
        }
    }

    private static boolean isIntegral(ConfigValue number) {
        Object n = number.unwrapped();
        if (!(n instanceof Integer || n instanceof Long)) {
            return false;
        }
        // HOCON reads "0.0" and "1e6" as integers; the text in reference.conf says which was meant.
        String line = sourceLine(number);
        int eq = line.indexOf('=');
        String text = eq < 0 ? line : line.substring(eq + 1);
        int comment = text.indexOf('#');
        text = (comment < 0 ? text : text.substring(0, comment)).strip();
        return !(text.contains(".") || text.contains("e") || text.contains("E"));
    }

    private static final java.util.Map<java.net.URL, List<String>> SOURCES = new java.util.concurrent.ConcurrentHashMap<>();

    private static String sourceLine(ConfigValue value) {
        java.net.URL url = value.origin().url();
        int line = value.origin().lineNumber();
        if (url == null || line < 1) {
            return "";
        }
        List<String> lines = SOURCES.computeIfAbsent(url, u -> {
            try (java.io.InputStream in = u.openStream()) {
                return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines().toList();
            } catch (java.io.IOException e) {
                return List.of();
            }
        });
        return line <= lines.size() ? lines.get(line - 1) : "";
    }

    private static String describe(ConfigValue expected) {
        switch (expected.valueType()) {
            case NUMBER: return isIntegral(expected) ? "an integer" : "a number";
            case BOOLEAN: return "a boolean";
            case LIST: return "a list";
            case STRING: return "a string";
            default: return expected.valueType().name().toLowerCase(Locale.ROOT);
        }
    }

    private static String typeProblem(String name, String expected, ConfigValue value) {
        String got = value.valueType() == ConfigValueType.NULL
                ? "null"
                : value.valueType().name().toLowerCase(Locale.ROOT) + " " + value.render(ConfigRenderOptions.concise());
        return name + ": expected " + expected + " but got " + got + " (from " + source(value) + ")";
    }

    /** Where a value was set: "file:line" or the {@code --set} argument. */
    private static String source(ConfigValue value) {
        ConfigOrigin origin = value.origin();
        if (origin.filename() != null) {
            return origin.lineNumber() > 0 ? origin.filename() + ":" + origin.lineNumber() : origin.filename();
        }
        // Parsed strings get ": <line>" appended to their description; for --set it is always 1.
        return origin.description().replaceFirst(": [0-9]+$", "");
    }

    private static List<String> knownPaths(Config reference) {
        List<String> paths = new ArrayList<>();
        collectPaths(reference.root(), List.of(), paths);
        return paths;
    }

    private static void collectPaths(ConfigObject object, List<String> parent, List<String> out) {
        for (String key : new TreeSet<>(object.keySet())) {
            List<String> path = new ArrayList<>(parent);
            path.add(key);
            out.add(ConfigUtil.joinPath(path));
            ConfigValue value = object.get(key);
            if (value.valueType() == ConfigValueType.OBJECT) {
                collectPaths((ConfigObject) value, path, out);
            }
        }
    }

    /** The known key closest in edit distance, also trying {@code name} under the {@code lethe} root. */
    private static String nearest(String name, List<String> known) {
        String best = known.get(0);
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : known) {
            int d = Math.min(editDistance(name, candidate), editDistance(ROOT + "." + name, candidate));
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        return best;
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    private static String sha256Hex(String text) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    /**
     * Refuses {@code include} in user-supplied config text: what a config means must not depend on
     * files or URLs of the machine that parses it.
     */
    private static final class NoIncludes implements com.typesafe.config.ConfigIncluder {
        private final String source;

        NoIncludes(String source) {
            this.source = source;
        }

        @Override
        public com.typesafe.config.ConfigIncluder withFallback(com.typesafe.config.ConfigIncluder fallback) {
            return this;
        }

        @Override
        public ConfigObject include(com.typesafe.config.ConfigIncludeContext context, String what) {
            throw new LetheConfigException(source + ": include \"" + what + "\" is not allowed: a config must be"
                    + " self-contained (put the settings in one file, or give them with --set)");
        }
    }
}
