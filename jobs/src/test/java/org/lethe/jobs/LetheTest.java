package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.util.List;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class LetheTest {
    // The CLI's EmbeddedSpark finds this session running and leaves it running.
    @RegisterExtension static final TestSpark SPARK = new TestSpark();

    @TempDir Path root;

    @Test
    void helpListsTheCommands() {
        Cli help = Cli.run("--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("Commands:"), help.out());
        assertTrue(help.out().contains("  config "), help.out());
        assertTrue(help.out().contains("  sql "), help.out());
        assertEquals("", help.err());
    }

    @Test
    void everyCommandHasHelp() {
        for (LetheCommand command : Lethe.commands()) {
            String name = command.getClass().getAnnotation(picocli.CommandLine.Command.class).name();
            Cli help = Cli.run(name, "--help");
            assertEquals(0, help.status(), name);
            assertTrue(help.out().startsWith("Usage: lethe " + name), help.out());
            assertTrue(help.out().contains("--set=KEY=VALUE"), help.out());
            assertTrue(help.out().contains("--run-id=ID"), help.out());
            assertTrue(help.out().contains("--conf=FILE"), help.out());
        }
    }

    @Test
    void configPrintsOnlyTheResolvedJson() throws Exception {
        Cli config = Cli.run("config", "--set", "lethe.model.threads=2");
        assertEquals(0, config.status(), config.err());
        assertEquals("", config.err());
        assertTrue(config.out().endsWith("}\n"), config.out());
        assertEquals(1, config.out().lines().count(), config.out());
        JsonNode json = new ObjectMapper().readTree(config.out());
        assertEquals(2, json.at("/lethe/model/threads").intValue());
        assertEquals("cpu", json.at("/lethe/model/device").textValue());
    }

    @Test
    void unknownSetKeyFailsWithOneLineOnStderr() {
        Cli config = Cli.run("config", "--set", "lethe.model.thread=2");
        assertEquals(1, config.status());
        assertEquals("", config.out());
        assertEquals("lethe config: error: unknown key 'lethe.model.thread' (from --set lethe.model.thread=2);"
                + " did you mean 'lethe.model.threads'?\n", config.err());
    }

    @Test
    void verbosePrintsTheStackTraceToo() {
        Cli config = Cli.run("config", "--verbose", "--set", "model.threads");
        assertEquals(1, config.status());
        assertEquals("", config.out());
        List<String> lines = config.err().lines().toList();
        assertEquals("lethe config: error: malformed --set 'model.threads': expected key=value, e.g. --set model.threads=2",
                lines.get(0));
        assertTrue(lines.get(1).startsWith("org.lethe.config.LetheConfigException: "), config.err());
        assertTrue(lines.size() > 3, config.err());
    }

    @Test
    void usageErrorsExitWithTwo() {
        Cli badRunId = Cli.run("config", "--run-id", "scheduled__2024-01-01T00:00:00+00:00");
        assertEquals(2, badRunId.status());
        assertEquals("", badRunId.out());
        assertEquals("lethe config: error: invalid run id 'scheduled__2024-01-01T00:00:00+00:00': only [A-Za-z0-9._-]"
                + " is allowed (sanitized: 'scheduled__2024-01-01T00_00_00_00_00') (see 'lethe config --help')\n", badRunId.err());

        Cli typo = Cli.run("sqll");
        assertEquals(2, typo.status());
        assertTrue(typo.err().startsWith("lethe: error: Unmatched argument at index 0: 'sqll'; did you mean sql?"),
                typo.err());

        Cli none = Cli.run();
        assertEquals(2, none.status());
        assertEquals("lethe: error: no command given (see 'lethe --help')\n", none.err());
    }

    @Test
    void sqlPrintsCsvOverTablesUnderTheRoot() {
        StructType schema = new StructType()
                .add("run_id", DataTypes.StringType)
                .add("sample", DataTypes.IntegerType)
                .add("text", DataTypes.StringType)
                .add("at", DataTypes.TimestampType);
        Timestamp at = Timestamp.from(java.time.Instant.parse("2024-01-01T12:00:00Z"));
        new TableStore(SPARK.session(), root.toString()).write("samples", SPARK.session().createDataFrame(List.of(
                RowFactory.create("a", 1, "plain", at),
                RowFactory.create("a", 2, "with, comma and \"quotes\"", null),
                RowFactory.create("b", 3, null, at),
                RowFactory.create("b", 4, "", at)), schema));

        Cli sql = Cli.run("sql", "SELECT run_id, sample, text, at FROM samples ORDER BY sample", "--root", root.toString(), "--csv");
        assertEquals(0, sql.status(), sql.err());
        assertEquals(String.join("\n",
                "run_id,sample,text,at",
                "a,1,plain,2024-01-01 12:00:00",
                "a,2,\"with, comma and \"\"quotes\"\"\",",
                "b,3,,2024-01-01 12:00:00",
                "b,4,\"\",2024-01-01 12:00:00",
                ""), sql.out());
        assertEquals("", sql.err());
    }

    @Test
    void sqlPrintsJsonLinesWithoutCsv() {
        StructType schema = new StructType().add("run_id", DataTypes.StringType).add("score", DataTypes.DoubleType);
        new TableStore(SPARK.session(), root.toString()).write("scores", SPARK.session().createDataFrame(List.of(
                RowFactory.create("a", 0.5), RowFactory.create("b", null)), schema));

        Cli sql = Cli.run("sql", "SELECT run_id, score FROM scores ORDER BY run_id", "--set", "store.root=" + root);
        assertEquals(0, sql.status(), sql.err());
        assertEquals("{\"run_id\":\"a\",\"score\":0.5}\n{\"run_id\":\"b\",\"score\":null}\n", sql.out());
    }

    @Test
    void sqlErrorsAreOneLine() {
        Cli sql = Cli.run("sql", "SELECT * FROM nowhere", "--root", root.toString(), "--csv");
        assertEquals(1, sql.status());
        assertEquals("", sql.out());
        assertTrue(sql.err().startsWith("lethe sql: error: [TABLE_OR_VIEW_NOT_FOUND]"), sql.err());
        assertEquals(1, sql.err().lines().count(), sql.err());

        Cli noRoot = Cli.run("sql", "SELECT 1");
        assertEquals(2, noRoot.status());
        assertEquals("lethe sql: error: no table root: give --root ROOT or set lethe.store.root (see 'lethe sql --help')\n",
                noRoot.err());
    }

    @Test
    void methodsListsOnePresetPerLineNameFirst() {
        Cli methods = Cli.run("methods");
        assertEquals(0, methods.status(), methods.err());
        List<String> lines = methods.out().lines().toList();
        assertEquals(16, lines.size(), methods.out());
        assertTrue(lines.get(0).startsWith("grad_ascent "), lines.get(0));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("me+gd ") && l.contains("0.1*me")), methods.out());
    }
}
