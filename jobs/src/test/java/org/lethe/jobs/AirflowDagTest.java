package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * deploy/airflow/lethe_dag.py compiles under python3 (Airflow is not needed to parse it), and its
 * run-id sanitizer maps Airflow run ids to Lethe's [A-Za-z0-9._-]+. Skipped without python3.
 */
class AirflowDagTest {

    private static final Path DAG = Path.of(System.getProperty("lethe.repo",
            Path.of("").toAbsolutePath().getParent().toString()), "deploy", "airflow", "lethe_dag.py");

    private static String python(String... args) throws IOException, InterruptedException {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "python3";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("python3 is not installed: " + e.getMessage());
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(60, TimeUnit.SECONDS);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void theDagCompilesAndSanitizesRunIds() throws Exception {
        Assumptions.assumeTrue(Files.exists(DAG), DAG + " not found");
        // py_compile writes bytecode next to the file unless told otherwise: compile to a string.
        python("-c", "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')", DAG.toString());
        // Only the sanitizer is executed (the module imports Airflow, absent here).
        String script = String.join("\n",
                "import ast, re, sys",
                "tree = ast.parse(open(sys.argv[1]).read())",
                "fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == 'lethe_run_id')",
                "ns = {'re': re}",
                "exec(compile(ast.Module(body=[fn], type_ignores=[]), 'dag', 'exec'), ns)",
                "for r in ['scheduled__2026-01-02T00:00:00+00:00', 'manual__x y/z', 'ok-1.2_3', '::']:",
                "    print(ns['lethe_run_id'](r))");
        assertEquals("scheduled__2026-01-02T00_00_00_00_00\nmanual__x_y_z\nok-1.2_3\nrun\n",
                python("-c", script, DAG.toString()));
    }

    @Test
    void everyLetheTaskRunsInTheTablesPool() throws Exception {
        Assumptions.assumeTrue(Files.exists(DAG), DAG + " not found");
        // Every SparkSubmitOperator is built by lethe(), which must give it pool=LETHE_POOL ("lethe_tables"),
        // the pool README's storage-safety table tells S3 users to create with one slot.
        String script = String.join("\n",
                "import ast, sys",
                "tree = ast.parse(open(sys.argv[1]).read())",
                "pool = next(n.value.value for n in tree.body if isinstance(n, ast.Assign)",
                "            and getattr(n.targets[0], 'id', '') == 'LETHE_POOL')",
                "calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, 'id', '') == 'SparkSubmitOperator']",
                "kw = [[k.value.id for k in c.keywords if k.arg == 'pool'] for c in calls]",
                "tasks = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, 'id', '') == 'lethe']",
                "print(pool, len(calls), kw, len(tasks))");
        assertEquals("lethe_tables 1 [['LETHE_POOL']] 7\n", python("-c", script, DAG.toString()));
    }
}
