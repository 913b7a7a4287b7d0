package org.lethe.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LetheConfigTest {
    @TempDir Path dir;

    private Path file(String hocon) throws Exception {
        Path file = dir.resolve("experiment.conf");
        Files.writeString(file, hocon);
        return file;
    }

    private static LetheConfigException loadFails(Optional<Path> file, String... sets) {
        return assertThrows(LetheConfigException.class, () -> LetheConfig.load(file, List.of(sets)));
    }

    @Test
    void defaultsComeFromReferenceConf() {
        LetheConfig config = LetheConfig.defaults();
        assertEquals("cpu", config.modelDevice());
        assertEquals("float32", config.modelDtype());
        assertEquals(2, config.modelThreads());
        assertTrue(config.modelReproducible());
        assertEquals(200, config.generateMaxNewTokens());
        assertEquals("lethe", config.sparkAppName());
        assertEquals(Optional.empty(), config.storeRoot());
    }

    @Test
    void wholeNumbersWrittenAsDecimalsInReferenceConfAreNumbersNotIntegers() {
        // HOCON reads "lr = 0.0" and "forget_coeff = -1.0" as integers; the reference's text decides.
        LetheConfig config = LetheConfig.load(Optional.empty(), List.of("unlearn.lr=1e-3", "unlearn.forget_coeff=0.5"));
        assertEquals(1e-3, config.getDouble("unlearn.lr"));
        assertEquals(0.5, config.getDouble("unlearn.forget_coeff"));
        assertTrue(loadFails(Optional.empty(), "unlearn.epochs=1.5").getMessage()
                .contains("lethe.unlearn.epochs: expected an integer"));
    }

    @Test
    void fileOverridesReferenceAndSetOverridesFile() throws Exception {
        Path file = file("lethe.model { threads = 3, dtype = float16 }\nlethe.generate.max_new_tokens = 50\n");
        LetheConfig config = LetheConfig.load(Optional.of(file), List.of("model.threads=2", "lethe.store.root=/data/t"));
        assertEquals(2, config.modelThreads());               // --set over file
        assertEquals("float16", config.modelDtype());          // file over reference
        assertEquals(50, config.generateMaxNewTokens());      // file over reference
        assertEquals("cpu", config.modelDevice());            // reference
        assertEquals(Optional.of("/data/t"), config.storeRoot());
    }

    @Test
    void reproducibleRunsNeedAFixedThreadCountAndLetheReproducible0UnpinsTheDefaults() {
        assertTrue(loadFails(Optional.empty(), "model.threads=0").getMessage().contains(
                "lethe.model.threads = 0 takes each machine's core count"));
        LetheConfig unpinned = LetheConfig.load(Optional.empty(), List.of("model.reproducible=false", "model.threads=0"));
        assertEquals(0, unpinned.modelThreads());

        assertTrue(LetheConfig.environmentDefaults(java.util.Map.of()).isEmpty());
        assertTrue(LetheConfig.environmentDefaults(java.util.Map.of("LETHE_REPRODUCIBLE", "1")).isEmpty());
        com.typesafe.config.Config off = LetheConfig.environmentDefaults(java.util.Map.of("LETHE_REPRODUCIBLE", "0"));
        assertEquals(false, off.getBoolean("lethe.model.reproducible"));
        assertEquals(0, off.getInt("lethe.model.threads"));
        assertTrue(assertThrows(LetheConfigException.class, () -> LetheConfig.environmentDefaults(
                java.util.Map.of("LETHE_REPRODUCIBLE", "no"))).getMessage().contains("LETHE_REPRODUCIBLE: expected 0 or 1"));
    }

    @Test
    void laterSetWins() {
        LetheConfig config = LetheConfig.load(Optional.empty(), List.of("model.threads=2", "lethe.model.threads=4"));
        assertEquals(4, config.modelThreads());
    }

    @Test
    void setValuesAreHoconValuesButUnquotedTextIsVerbatim() {
        LetheConfig config = LetheConfig.load(Optional.empty(),
                List.of("model.device=gpu:0", "store.root=s3a://bucket/tables//x", "spark.app_name=\"quoted name\""));
        assertEquals("gpu:0", config.modelDevice());
        assertEquals(Optional.of("s3a://bucket/tables//x"), config.storeRoot());
        assertEquals("quoted name", config.sparkAppName());
    }

    @Test
    void jsonHoldsTypedValues() throws Exception {
        LetheConfig config = LetheConfig.load(Optional.empty(), List.of("model.threads=2"));
        JsonNode json = new ObjectMapper().readTree(config.toJson());
        assertTrue(json.at("/lethe/model/threads").isInt());
        assertEquals(2, json.at("/lethe/model/threads").intValue());
        assertEquals("float32", json.at("/lethe/model/dtype").textValue());
        assertEquals(200, json.at("/lethe/generate/max_new_tokens").intValue());
    }

    @Test
    void unknownSetKeyNamesKeySourceAndNearestKey() {
        LetheConfigException e = loadFails(Optional.empty(), "model.thread=2");
        assertEquals("unknown key 'lethe.model.thread' (from --set model.thread=2); did you mean 'lethe.model.threads'?",
                e.getMessage());
    }

    @Test
    void unknownFileKeyNamesFileAndLine() throws Exception {
        Path file = file("lethe {\n  model {\n    dtyp = float16\n  }\n}\n");
        LetheConfigException e = loadFails(Optional.of(file));
        assertEquals("unknown key 'lethe.model.dtyp' (from " + file + ":3); did you mean 'lethe.model.dtype'?",
                e.getMessage());
    }

    @Test
    void keysOutsideTheRootAreUnknown() throws Exception {
        Path file = file("model.threads = 2\n");
        LetheConfigException e = loadFails(Optional.of(file));
        assertEquals("unknown key 'model' (from " + file + ":1); did you mean 'lethe.model'?", e.getMessage());
    }

    @Test
    void malformedSetIsNamed() {
        LetheConfigException e = loadFails(Optional.empty(), "foo");
        assertEquals("malformed --set 'foo': expected key=value, e.g. --set model.threads=2", e.getMessage());
        assertTrue(loadFails(Optional.empty(), "=2").getMessage().startsWith("malformed --set '=2'"));
    }

    @Test
    void typeErrorsNameKeyAndExpectedType() throws Exception {
        assertEquals("lethe.model.threads: expected an integer but got string \"abc\" (from --set model.threads=abc)",
                loadFails(Optional.empty(), "model.threads=abc").getMessage());
        assertEquals("lethe.model.threads: expected an integer but got number 2.5 (from --set model.threads=2.5)",
                loadFails(Optional.empty(), "model.threads=2.5").getMessage());
        assertEquals("lethe.model: expected an object but got number 3 (from --set model=3)",
                loadFails(Optional.empty(), "model=3").getMessage());
        Path file = file("lethe.spark.app_name = [a, b]\n");
        assertEquals("lethe.spark.app_name: expected a string but got list [\"a\",\"b\"] (from " + file + ":1)",
                loadFails(Optional.of(file)).getMessage());
    }

    @Test
    void numbersGivenAsStringsAreConverted() {
        assertEquals(7, LetheConfig.load(Optional.empty(), List.of("model.threads=\"7\"")).modelThreads());
    }

    @Test
    void valuesAreCheckedBeyondTheirType() {
        assertEquals("lethe.model.dtype: expected one of [float16, float32] but got 'float64'",
                loadFails(Optional.empty(), "model.dtype=float64").getMessage());
        assertEquals("lethe.generate.max_new_tokens: expected an integer >= 1 but got 0",
                loadFails(Optional.empty(), "generate.max_new_tokens=0").getMessage());
    }

    @Test
    void allProblemsAreReportedAtOnce() {
        String message = loadFails(Optional.empty(), "model.thread=2", "model.dtype=[x]").getMessage();
        assertTrue(message.contains("unknown key 'lethe.model.thread'"), message);
        assertTrue(message.contains("lethe.model.dtype: expected a string"), message);
    }

    @Test
    void missingFileIsNamed() {
        Path missing = dir.resolve("nope.conf");
        assertEquals("config file " + missing + " (--conf) does not exist or is not a file",
                loadFails(Optional.of(missing)).getMessage());
    }

    @Test
    void fingerprintIsSha256OfCanonicalJsonAndStable() throws Exception {
        LetheConfig a = LetheConfig.load(Optional.empty(), List.of("model.threads=2", "model.dtype=float16"));
        LetheConfig b = LetheConfig.load(Optional.of(file("lethe.model.dtype = \"float16\"\n")),
                List.of("lethe.model.threads=\"2\""));
        assertEquals(a.toJson(), b.toJson());
        assertEquals(a.sha256(), b.sha256());
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(a.toJson().getBytes(StandardCharsets.UTF_8));
        assertEquals(HexFormat.of().formatHex(digest), a.sha256());
        assertNotEquals(a.sha256(), LetheConfig.load(Optional.empty(), List.of("model.threads=3")).sha256());
        assertEquals(LetheConfig.defaults().sha256(), LetheConfig.defaults().sha256());
    }

    @Test
    void configTextIsSelfContainedNoIncludesAndNoEnvironment() throws Exception {
        Files.writeString(dir.resolve("other.conf"), "lethe.model.threads = 3\n");
        Path including = file("include \"other.conf\"\nlethe.generate.max_new_tokens = 50\n");
        assertEquals(including + ": include \"other.conf\" is not allowed: a config must be self-contained (put the"
                + " settings in one file, or give them with --set)", loadFails(Optional.of(including)).getMessage());
        // HOME is set in every test JVM; a substitution does not read it.
        assertTrue(System.getenv("HOME") != null);
        String message = loadFails(Optional.empty(), "unlearn.output=${HOME}").getMessage();
        assertTrue(message.startsWith("cannot resolve the config: ") && message.contains("HOME")
                && message.endsWith("(substitutions refer to config keys; environment variables are not read)"), message);
        Path fromEnvironment = file("lethe.unlearn.output = ${HOME}\n");
        assertTrue(loadFails(Optional.of(fromEnvironment)).getMessage().contains("environment variables are not read"));
        // An optional one that only the environment could fill stays unset; config keys still resolve.
        Path optional = file("lethe.unlearn.output = /x\nlethe.unlearn.output = ${?HOME}\n"
                + "lethe.train.lr = 0.5\nlethe.unlearn.lr = ${lethe.train.lr}\n");
        LetheConfig config = LetheConfig.load(Optional.of(optional), List.of());
        assertEquals("/x", config.getString("unlearn.output"));
        assertEquals(0.5, config.getDouble("unlearn.lr"));
    }

    @Test
    void jsonValueRendersATypedValue() {
        LetheConfig config = LetheConfig.load(Optional.empty(), List.of("unlearn.lr=1e-3", "unlearn.schedule=cosine",
                "unlearn.trainable=[a, b]"));
        assertEquals("0.001", config.jsonValue("unlearn.lr"));
        assertEquals("\"cosine\"", config.jsonValue("unlearn.schedule"));
        assertEquals("[\"a\",\"b\"]", config.jsonValue("lethe.unlearn.trainable"));
    }
}
