package org.lethe.jobs;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.lang.syntax.ArchRuleDefinition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lethe.config.LetheConfig;

/**
 * The layout rules of issue 16, on Lethe's main classes (both modules): no package cycles; the
 * config is read only where requests are built; no job sees the config; only the dataset accessor
 * knows how ingested data is keyed.
 */
class ArchitectureTest {

    private static JavaClasses main;

    /** Only production classes: Maven's test-classes directories and test jars are left out. */
    private static final ImportOption PRODUCTION = location -> !location.contains("/test-classes/")
            && !location.contains("-tests.jar");

    @BeforeAll
    static void importClasses() {
        main = new ClassFileImporter().withImportOption(PRODUCTION).importPackages("org.lethe");
    }

    @Test
    void theImportSeesBothModules() {
        // A rule over an empty import passes vacuously: make sure both modules are in it.
        assertEquals(true, main.contain(org.lethe.jobs.Lethe.class));
        assertEquals(true, main.contain(LetheConfig.class));
        assertEquals(true, main.stream().count() > 200);
    }

    @Test
    void packagesAreFreeOfCycles() {
        slices().matching("org.lethe.(*)..").should().beFreeOfCycles().check(main);
    }

    @Test
    void configIsReadOnlyInRequestFactories() {
        ArchRuleDefinition.classes().should(new ArchCondition<JavaClass>("read LetheConfig values only in package "
                + "org.lethe.config and in static factories `of(LetheConfig, ...)`") {
            @Override
            public void check(JavaClass item, ConditionEvents events) {
                for (JavaMethodCall call : item.getMethodCallsFromSelf()) {
                    if (readsConfig(call) && !mayReadConfig(call.getOrigin())) {
                        events.add(SimpleConditionEvent.violated(call, call.getDescription()));
                    }
                }
            }
        }).check(main);
    }

    /** Composite jobs never write config text: only requests and their builders derive configs. */
    @Test
    void onlyRequestsDeriveConfigs() {
        ArchRuleDefinition.classes().should(new ArchCondition<JavaClass>("derive a LetheConfig (with) only in "
                + "org.lethe.config, a JobRequest or a RequestBuilder") {
            @Override
            public void check(JavaClass item, ConditionEvents events) {
                for (JavaMethodCall call : item.getMethodCallsFromSelf()) {
                    if (call.getTargetOwner().isEquivalentTo(LetheConfig.class) && call.getName().equals("with")
                            && !mayDeriveConfig(call.getOrigin().getOwner())) {
                        events.add(SimpleConditionEvent.violated(call, call.getDescription()));
                    }
                }
            }
        }).check(main);
    }

    @Test
    void noJobSeesTheConfig() {
        ArchRuleDefinition.classes().that().haveSimpleNameEndingWith("Job").should(new ArchCondition<JavaClass>(
                "neither hold nor take a LetheConfig (jobs take typed requests)") {
            @Override
            public void check(JavaClass item, ConditionEvents events) {
                for (JavaField f : item.getFields()) {
                    if (f.getRawType().isEquivalentTo(LetheConfig.class)) {
                        events.add(SimpleConditionEvent.violated(f, f.getFullName() + " is a LetheConfig"));
                    }
                }
                for (JavaCodeUnit unit : item.getCodeUnits()) {
                    if (unit.getRawParameterTypes().stream().anyMatch(t -> t.isEquivalentTo(LetheConfig.class))) {
                        events.add(SimpleConditionEvent.violated(unit, unit.getFullName() + " takes a LetheConfig"));
                    }
                }
                for (JavaMethodCall call : item.getMethodCallsFromSelf()) {
                    if (call.getTargetOwner().isEquivalentTo(LetheConfig.class)) {
                        events.add(SimpleConditionEvent.violated(call, call.getDescription()));
                    }
                }
            }
        }).check(main);
    }

    /**
     * Source rule (a string literal is invisible to the class files' dependency graph): only the
     * dataset accessor spells the default ingest run or reads the ingest tables; the ingest job
     * writes them; table names are spelled only by the catalogue.
     */
    @Test
    void onlyTheDatasetAccessorReadsIngestedData() {
        Pattern ingestRun = Pattern.compile("\"ingest-\"");
        Pattern ingestTables = Pattern.compile("Tables\\.(MEMBERSHIPS|EXAMPLES)\\b");
        Pattern literalNames = Pattern.compile("(?:read|write|exists)\\(\\s*\"(" + String.join("|", tableNames()) + ")\"");
        List<String> violations = new ArrayList<>();
        for (Path file : sources()) {
            String name = file.getFileName().toString();
            String text = read(file);
            if (ingestRun.matcher(text).find() && !name.equals("IngestedDataset.java")) {
                violations.add(file + ": spells the default ingest run \"ingest-\" (use IngestedDataset)");
            }
            if (ingestTables.matcher(text).find() && !List.of("IngestedDataset.java", "IngestJob.java",
                    "Tables.java").contains(name)) {
                violations.add(file + ": reads memberships/examples itself (use IngestedDataset)");
            }
            if (literalNames.matcher(text).find() && !name.equals("Tables.java")) {
                violations.add(file + ": spells a table name as a literal (use store.Tables)");
            }
        }
        assertEquals(List.of(), violations);
    }

    /** Every table name of the catalogue. */
    private static List<String> tableNames() {
        List<String> names = new ArrayList<>();
        for (java.lang.reflect.Field f : org.lethe.store.Tables.class.getFields()) {
            try {
                names.add((String) f.get(null));
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        assertTrue(names.contains("memberships") && names.contains("runs"), names.toString());
        return names;
    }

    private static boolean readsConfig(JavaMethodCall call) {
        String name = call.getName();
        return call.getTargetOwner().isEquivalentTo(LetheConfig.class) && (name.startsWith("get") || name.equals("has"));
    }

    private static boolean mayDeriveConfig(JavaClass owner) {
        for (JavaClass c = owner; c != null; c = c.getEnclosingClass().orElse(null)) {
            if (c.getPackageName().equals("org.lethe.config") || c.isAssignableTo(org.lethe.job.JobRequest.class)
                    || c.isAssignableTo(org.lethe.job.RequestBuilder.class)) {
                return true;
            }
        }
        return false;
    }

    /** Package org.lethe.config, or a static {@code of(LetheConfig, ...)} (and lambdas inside one). */
    private static boolean mayReadConfig(JavaCodeUnit origin) {
        if (origin.getOwner().getPackageName().equals("org.lethe.config")) {
            return true;
        }
        if (origin.getName().startsWith("lambda$of$")) {
            return true;
        }
        return origin.getName().equals("of") && origin.getModifiers().contains(JavaModifier.STATIC)
                && !origin.getRawParameterTypes().isEmpty()
                && origin.getRawParameterTypes().get(0).isEquivalentTo(LetheConfig.class);
    }

    /** The main Java sources of both modules (tests run in the module directory). */
    private static List<Path> sources() {
        List<Path> files = new ArrayList<>();
        for (Path root : List.of(Path.of("src/main/java"), Path.of("../pipelines/src/main/java"))) {
            try (Stream<Path> walk = Files.walk(root)) {
                walk.filter(p -> p.toString().endsWith(".java")).forEach(files::add);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + root.toAbsolutePath(), e);
            }
        }
        return files;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
